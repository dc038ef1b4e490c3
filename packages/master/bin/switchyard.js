#!/usr/bin/env node
// The `switchyard` executable: the compiled master (run `pnpm build` first).
require('../dist/src/main.js');
