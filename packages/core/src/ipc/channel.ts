/**
 * A batching msgpack channel over a node:cluster IPC endpoint (the worker's
 * `process`, or the master's `worker.process`). Messages sent during one turn
 * of the event loop go out as one frame: one msgpack encode and one IPC write,
 * however many messages. The endpoint must use `serialization: 'advanced'`,
 * otherwise Buffers cross as JSON arrays.
 */
import { Packr } from 'msgpackr';

export interface IpcEndpoint {
  send(message: unknown, sendHandle?: unknown, options?: unknown, callback?: (error: Error | null) => void): boolean;
  connected?: boolean;
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export class Channel<Out, In> {
  private queue: Out[] = [];
  private scheduled = false;
  /** Frames and messages sent, for measurement. */
  framesOut = 0;
  messagesOut = 0;

  constructor(private readonly endpoint: IpcEndpoint, private readonly onMessage: (m: In) => void) {}

  send(m: Out): void {
    this.queue.push(m);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushBound);
    }
  }

  private readonly flushBound = (): void => this.flush();

  flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    if (this.endpoint.connected === false) return;
    this.framesOut++;
    this.messagesOut += batch.length;
    try {
      this.endpoint.send(packr.pack(batch));
    } catch {
      // The peer is gone (channel closed): nothing to deliver to.
    }
  }

  /** Feed a raw IPC message; returns false if it was not one of our frames. */
  receive(raw: unknown): boolean {
    if (!(raw instanceof Uint8Array)) return false;
    let batch: In[];
    try {
      batch = packr.unpack(raw) as In[];
    } catch {
      return true; // a corrupt frame is dropped, never fatal
    }
    if (!Array.isArray(batch)) return true;
    for (const m of batch) this.onMessage(m);
    return true;
  }
}
