/** The file node:cluster executes in each worker. */
import { runWorker } from './main';

runWorker();
