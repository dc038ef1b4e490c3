/**
 * A server dies under load (issue 6): its origin process is killed while
 * keep-alive clients keep sending GETs through the real master (2 workers,
 * `retries 3`, `option redispatch`, `retry-on all-retryable-errors`, checks
 * `inter 200 fall 2`). No client sees an error, the server is logged DOWN
 * within fall × inter (plus a check's duration), and once it is down no
 * request is sent its way any more.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePorts, startProxy, within, type ProxyRun } from './helpers';

/** An HTTP origin in its own process (so that it can really die), answering its name. */
function startOrigin(port: number, name: string): Promise<ChildProcess> {
  const code = `require('http').createServer((q, r) => { q.resume(); q.on('end', () => r.end(${JSON.stringify(name)})); })` +
    `.listen(${port}, '127.0.0.1', () => process.send('up'));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', c => reject(new Error(`origin ${name} exited (${c})`)));
  });
}

describe('a server killed under load', () => {
  let run: ProxyRun;
  const origins: ChildProcess[] = [];
  let port = 0;
  before(async () => {
    const ports = await freePorts(4);
    port = ports[0];
    for (let i = 1; i <= 3; i++) origins.push(await startOrigin(ports[i], `s${i}`));
    run = await startProxy([
      'global',
      '    nbthread 2',
      'defaults',
      '    mode http',
      '    timeout connect 1s',
      '    timeout client 10s',
      '    timeout server 10s',
      '    retries 3',
      '    option redispatch',
      '    retry-on all-retryable-errors',
      'frontend fe',
      `    bind 127.0.0.1:${port}`,
      '    default_backend be',
      'backend be',
      ...[1, 2, 3].map(i => `    server s${i} 127.0.0.1:${ports[i]} check inter 200 fall 2 rise 2`),
    ].join('\n') + '\n');
  });
  after(async () => {
    await run.stop();
    for (const o of origins) o.kill('SIGKILL');
  });

  it('clients of idempotent requests see no error; the server is marked down after fall x inter', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const errors: string[] = [];
    const served: Record<string, number> = {};
    let running = true;
    let afterDown: Record<string, number> | null = null;
    const loop = async (): Promise<void> => {
      while (running) {
        await new Promise<void>(resolve => {
          const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, res => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', d => { body += d; });
            res.on('end', () => {
              if (res.statusCode !== 200) errors.push(`status ${res.statusCode}`);
              else { served[body] = (served[body] ?? 0) + 1; if (afterDown) afterDown[body] = (afterDown[body] ?? 0) + 1; }
              resolve();
            });
          });
          req.on('error', e => { errors.push((e as NodeJS.ErrnoException).code ?? e.message); resolve(); });
        });
      }
    };
    const loops = Array.from({ length: 16 }, loop);
    // Traffic reaches all three servers first.
    await within((async () => { while (!(served.s1 && served.s2 && served.s3)) await new Promise(r => setImmediate(r)); })(), 5000, 'traffic on every server');
    const mark = run.master.stderr.length;
    const killedAt = Date.now();
    origins[1].kill('SIGKILL');
    // The DOWN line (the master's own log).
    await within((async () => {
      while (!/Server be\/s2 is DOWN/.test(run.master.stderr.slice(mark))) await new Promise(r => run.master.child.stderr!.once('data', r));
    })(), 5000, 'DOWN logged');
    const downAfter = Date.now() - killedAt;
    // fall 2 x inter 200 ms, plus a check's own time and the spread of the first one.
    assert.ok(downAfter < 1500, `marked down ${downAfter} ms after the kill`);
    afterDown = {};
    // Keep going a while with s2 down: requests go to s1 and s3 only.
    await within((async () => { while ((afterDown.s1 ?? 0) + (afterDown.s3 ?? 0) < 300) await new Promise(r => setImmediate(r)); })(), 10_000, '300 more requests');
    running = false;
    await Promise.all(loops);
    agent.destroy();
    assert.deepEqual(errors, [], `client errors: ${errors.join(', ')}`);
    assert.equal(afterDown.s2 ?? 0, 0);
  });
});
