/**
 * Worker process entry: receives the CompiledConfig and the listening
 * handles from the master, runs the engine, answers stats requests, applies
 * server state changes, and stops when told to.
 */
import { Channel, type IpcEndpoint } from '@switchyard/core/ipc/channel';
import { isHandleMessage, type MasterMessage, type WorkerMessage } from '@switchyard/core/ipc/messages';
import { Engine } from '@switchyard/core/engine/engine';
import type { RawHandle } from '@switchyard/core/engine/listener';
// Every feature registers its fetches, converters and actions: the worker
// compiles the rules of the CompiledConfig against those registries.
import '@switchyard/core/features';
import { userlistReady as featuresReady } from '@switchyard/core/http/userlist';
import { setObserveSink } from '@switchyard/core/checks/observe';



export function runWorker(): void {
  if (!process.send) throw new Error('the worker must be started by the Switchyard master');
  let engine: Engine | null = null;
  let gen = -1;
  /** Handles that arrived before the config. */
  const pending: Array<{ key: string; handle: RawHandle }> = [];
  let ready = false;
  let configured = false;
  const pendingStates: Array<Extract<MasterMessage, { t: 'srv' }>> = [];
  /** maxconn credits granted before the engine exists (they come right after the config). */
  const pendingSlots: Array<Extract<MasterMessage, { t: 'slot' }>> = [];
  let stopping = false;

  const channel = new Channel<WorkerMessage, MasterMessage>(process as unknown as IpcEndpoint, onMessage);
  const report = (level: 'info' | 'warn' | 'error', msg: string): void => channel.send({ t: 'log', level, msg });
  // `observe`: traffic outcomes go to the master's health checks.
  setObserveSink(m => channel.send(m));

  process.on('message', (raw: unknown, handle: unknown) => {
    if (isHandleMessage(raw)) {
      const h = handle as RawHandle | undefined;
      if (!h) return;
      if (!engine) pending.push({ key: raw.key, handle: h });
      else attach(raw.key, h);
      return;
    }
    channel.receive(raw);
  });
  // The master is gone: nobody will hand us work or collect stats.
  process.on('disconnect', () => { void stop(true, 0).then(() => process.exit(0)); });

  function onMessage(m: MasterMessage): void {
    switch (m.t) {
      case 'config': {
        if (engine || configured) return; // one config per worker life; reloads fork new workers
        configured = true;
        gen = m.gen;
        // ES modules some features load at start (userlist hashes) are in
        // before the first connection can be accepted.
        void featuresReady.then(() => {
          if (stopping) return;
          engine = new Engine(m.cfg, {
            workerIndex: m.workerIndex, workerCount: m.workerCount, masterPid: m.masterPid, states: m.states,
            requestHandle: key => channel.send({ t: 'need-listener', key }),
            report,
            send: msg => channel.send(msg),
          });
          for (const st of pendingStates.splice(0)) engine.setServerState(st.p, st.s, st.st);
          for (const sl of pendingSlots.splice(0)) engine.sync?.applySlot(sl.p, sl.s, sl.grant, sl.cap, sl.share);
          for (const p of pending.splice(0)) attach(p.key, p.handle);
          checkReady();
        });
        return;
      }
      case 'srv':
        // State changes that arrive while the engine is being set up are applied once it exists.
        if (engine) engine.setServerState(m.p, m.s, m.st);
        else pendingStates.push(m);
        return;
      case 'slot':
        if (engine) engine.sync?.applySlot(m.p, m.s, m.grant, m.cap, m.share);
        else pendingSlots.push(m);
        return;
      case 'load':
        engine?.sync?.applyLoad(m.v);
        return;
      case 'srv-shutdown':
        engine?.shutdownServerSessions(m.p, m.s, m.why);
        return;
      case 'stats-req':
        if (engine) channel.send({ t: 'stats-res', id: m.id, stats: engine.stats() });
        return;
      case 'stop':
        void stop(m.graceful, m.hardStopAfter).then(() => { channel.flush(); process.exit(0); });
        return;
    }
  }

  let attachedCount = 0;
  function attach(key: string, handle: RawHandle): void {
    engine!.attach(key, handle).then(
      () => { attachedCount++; checkReady(); },
      (err: Error) => channel.send({ t: 'listen-error', key, error: err.message }),
    );
  }

  function checkReady(): void {
    if (ready || !engine || stopping) return;
    if (attachedCount >= engine.listeners.size) {
      ready = true;
      channel.send({ t: 'ready', gen });
    }
  }

  let stopped: Promise<void> | null = null;
  /**
   * Resolves when this worker may exit. A worker gets a second stop when
   * SIGUSR1/SIGTERM arrives while it drains after a reload, or on TERM after
   * USR1: a graceful one must not cut the drain short (it resolves with the
   * first), a fast one kills the remaining streams now.
   */
  function stop(graceful: boolean, hardStopAfter: number): Promise<void> {
    if (stopped && graceful) return stopped;
    stopping = true;
    stopped = engine ? engine.stop(graceful, hardStopAfter) : Promise.resolve();
    return stopped;
  }
}
