/**
 * TCP-mode timeouts with the real master: each one closes the connection at
 * about the configured time (measured on the client's socket events) and
 * logs HAProxy's termination flags. Expected behaviour was checked against
 * HAProxy 2.6.12 on the same configuration:
 *   - timeout connect: the client is closed, `sC`, Tc = -1; retries after a
 *     connect timeout start at once (3 attempts of 300 ms ≈ 900 ms);
 *   - timeout client / server: `cD` / `sD`;
 *   - timeout client-fin applies once the proxy has shut its write side to
 *     the client (the server ended first), timeout server-fin once it has
 *     shut its write side to the server (the client ended first) — not when
 *     that peer itself half-closed while the other side still works;
 *   - timeout tunnel supersedes client and server once connected; when both
 *     sides idle out together HAProxy reports the client side (`cD`).
 * Windows are generous (≥ 0.8× and < 3× the timeout) so a loaded machine
 * does not fail them.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import type * as net from 'node:net';
import {
  Blackhole, Origin, TcpClient, freePorts, logMark, parseTcplog, startProxy, waitForLog, within, type ProxyRun,
} from './helpers';

/** Assert `ms` lies in [0.8 t, 3 t). */
function assertAbout(ms: number, t: number, what: string): void {
  assert.ok(ms >= 0.8 * t && ms < 3 * t, `${what}: ${ms} ms, expected about ${t} ms (>= ${0.8 * t} and < ${3 * t})`);
}

/** Never sends; answers the proxy's FIN with its own, as ordinary servers do. */
const silentCloser = (s: net.Socket): void => { s.resume(); s.on('end', () => s.end()); };
/** Never sends, never closes (ignores FIN). */
const silentStubborn = (s: net.Socket): void => { s.resume(); };
/** Greets, then never sends again and never closes. */
const greeterStubborn = (s: net.Socket): void => { s.write('hi\n'); s.resume(); };

describe('tcp timeouts', { concurrency: true }, () => {
  let run: ProxyRun;
  let hole: Blackhole;
  const origins: Origin[] = [];
  let ports: Record<string, number> = {};
  /** Resolves with what the server-fin "ender" origin received after it had ended its side. */
  let lateReceived!: (text: string) => void;
  const late = new Promise<string>(resolve => { lateReceived = resolve; });

  before(async () => {
    hole = await Blackhole.start();
    const mk = async (name: string, h: (s: net.Socket, o: Origin) => void): Promise<number> => {
      const o = new Origin(name, h);
      origins.push(o);
      return o.listen();
    };
    const oCloser = await mk('closer', silentCloser);
    const oStubborn = await mk('stubborn', silentStubborn);
    const oGreeter = await mk('greeter', greeterStubborn);
    // Send "bye" and end at once; the second one reports what it reads afterwards.
    const oEnder = await mk('ender', s => { s.resume(); s.end('bye\n'); });
    const oEnderReader = await mk('ender', s => {
      let got = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => { got += d; });
      s.on('end', () => lateReceived(got));
      s.end('bye\n');
    });
    // A slow server: replies 900 ms after the client's FIN, then ends.
    const oSlow = await mk('slow', s => {
      s.resume();
      s.on('end', () => { setTimeout(() => s.end('late reply\n'), 900); });
    });
    const names = ['connect', 'connectRetries', 'client', 'server', 'clientFin', 'clientFinNot', 'serverFin', 'serverFinNot', 'tunnel'];
    const p = await freePorts(names.length);
    ports = Object.fromEntries(names.map((n, i) => [n, p[i]]));
    const fe = (name: string, be: string, extra = ''): string =>
      `frontend fe_${name}\n    bind 127.0.0.1:${ports[name]}\n${extra}    default_backend ${be}\n`;
    run = await startProxy([
      'global',
      '    nbthread 1',
      '    log stdout format raw local0',
      'defaults',
      '    mode tcp',
      '    log global',
      '    option tcplog',
      '    timeout connect 5s',
      '    timeout client 10s',
      '    timeout server 10s',
      fe('connect', 'be_hole'),
      'backend be_hole',
      '    retries 0',
      '    timeout connect 400ms',
      `    server hole 127.0.0.1:${hole.port}`,
      fe('connectRetries', 'be_hole3'),
      'backend be_hole3',
      '    retries 2',
      '    timeout connect 300ms',
      `    server hole 127.0.0.1:${hole.port}`,
      fe('client', 'be_closer', '    timeout client 400ms\n'),
      'backend be_closer',
      `    server closer 127.0.0.1:${oCloser}`,
      fe('server', 'be_stubborn_srvto'),
      'backend be_stubborn_srvto',
      '    timeout server 400ms',
      `    server stubborn 127.0.0.1:${oStubborn}`,
      fe('clientFin', 'be_ender', '    timeout client-fin 400ms\n'),
      'backend be_ender',
      `    server ender 127.0.0.1:${oEnder}`,
      fe('clientFinNot', 'be_slow', '    timeout client-fin 400ms\n'),
      'backend be_slow',
      `    server slow 127.0.0.1:${oSlow}`,
      fe('serverFin', 'be_greeter_sfin'),
      'backend be_greeter_sfin',
      '    timeout server-fin 400ms',
      `    server greeter 127.0.0.1:${oGreeter}`,
      fe('serverFinNot', 'be_ender_sfin'),
      'backend be_ender_sfin',
      '    timeout server-fin 400ms',
      `    server ender 127.0.0.1:${oEnderReader}`,
      fe('tunnel', 'be_tunnel', '    timeout client 300ms\n'),
      'backend be_tunnel',
      '    timeout server 300ms',
      '    timeout tunnel 1s',
      `    server stubborn 127.0.0.1:${oStubborn}`,
      '',
    ].join('\n'));
  });

  after(async () => {
    await run?.stop();
    hole?.close();
    await Promise.all(origins.map(o => o.close()));
  });

  it('timeout connect: a server that never answers the SYN closes the client at the timeout, logged sC', async () => {
    const mark = logMark(run.master);
    const c = await TcpClient.open(ports.connect, { allowHalfOpen: false });
    const closed = await within(c.closed, 5000, 'client closed after timeout connect');
    assertAbout(closed - c.connectedAt, 400, 'close after timeout connect 400ms');
    assert.equal(c.received.length, 0);
    const log = parseTcplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_connect' }));
    assert.equal(log.ts, 'sC');
    assert.equal(`${log.fe} ${log.be}/${log.srv}`, 'fe_connect be_hole/hole');
    assert.equal(log.tc, '-1', 'Tc is -1: the connection never established');
    assert.equal(log.rc, '0');
  });

  it('timeout connect with retries 2: three attempts back to back (no turn-around), rc 2, sC', async () => {
    const mark = logMark(run.master);
    const c = await TcpClient.open(ports.connectRetries, { allowHalfOpen: false });
    const closed = await within(c.closed, 8000, 'client closed after 3 connect timeouts');
    assertAbout(closed - c.connectedAt, 900, 'close after 3 × timeout connect 300ms');
    const log = parseTcplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_connectRetries' }));
    assert.equal(log.ts, 'sC');
    assert.equal(log.rc, '2');
  });

  it('timeout client: an idle client is closed at the timeout, logged cD', async () => {
    const mark = logMark(run.master);
    const c = await TcpClient.open(ports.client, { allowHalfOpen: false });
    const closed = await within(c.closed, 5000, 'idle client closed');
    assertAbout(closed - c.connectedAt, 400, 'close after timeout client 400ms');
    const log = parseTcplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_client' }));
    assert.equal(log.ts, 'cD');
    assert.equal(`${log.be}/${log.srv}`, 'be_closer/closer');
  });

  it('timeout server: an idle server gets the client closed at the timeout, logged sD', async () => {
    const mark = logMark(run.master);
    const c = await TcpClient.open(ports.server, { allowHalfOpen: false });
    const closed = await within(c.closed, 5000, 'client closed after idle server');
    assertAbout(closed - c.connectedAt, 400, 'close after timeout server 400ms');
    const log = parseTcplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_server' }));
    assert.equal(log.ts, 'sD');
    assert.equal(`${log.be}/${log.srv}`, 'be_stubborn_srvto/stubborn');
  });

  it('timeout client-fin: the server ended, the half-closed client idles and is closed at client-fin, logged cD', async () => {
    // The client keeps its write side open after the proxy's FIN and says nothing.
    const mark = logMark(run.master);
    const c = await TcpClient.open(ports.clientFin);
    await within(c.ended, 5000, 'FIN from the server relayed');
    assert.equal(c.text, 'bye\n');
    // Our side already has the proxy's FIN, so its close shows no event here:
    // the log line marks it, with its duration.
    const log = parseTcplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_clientFin' }));
    const loggedAt = Date.now();
    assert.equal(log.ts, 'cD');
    assert.equal(log.bytes, '4');
    assertAbout(Number(log.tt), 400, 'Tt with timeout client-fin 400ms (timeout client is 10s)');
    assertAbout(loggedAt - c.connectedAt, 400, 'log line after timeout client-fin 400ms');
  });

  it('timeout client-fin does not cut a client that half-closed and waits for a slow reply', async () => {
    // HAProxy arms client-fin only once it has shut the client's side; a
    // request followed by FIN, answered after 900 ms, is served (timeout server is 10s).
    const mark = logMark(run.master);
    const c = await TcpClient.open(ports.clientFinNot);
    c.socket.end('request\n');
    await within(c.ended, 5000, 'reply and FIN');
    assert.equal(c.text, 'late reply\n', `got '${c.text}' (error ${c.error?.code ?? 'none'})`);
    const log = parseTcplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_clientFinNot' }));
    assert.equal(log.ts, '--');
  });

  it('timeout server-fin: the client ended, the half-closed server idles and is closed at server-fin, logged sD', async () => {
    const mark = logMark(run.master);
    const c = await TcpClient.open(ports.serverFin);
    await c.waitData('hi\n');
    const endedAt = Date.now();
    c.socket.end();
    const closed = await within(c.closed, 5000, 'client closed after server-fin');
    assertAbout(closed - endedAt, 400, 'close after timeout server-fin 400ms (timeout server is 10s)');
    const log = parseTcplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_serverFin' }));
    assert.equal(log.ts, 'sD');
    assert.equal(`${log.be}/${log.srv}`, 'be_greeter_sfin/greeter');
  });

  it('timeout server-fin does not cut a server that half-closed while the client still sends', async () => {
    // The server says "bye" and ends; the client thinks for 900 ms (over
    // server-fin, under timeout client/server) and sends more: it reaches the server.
    const mark = logMark(run.master);
    const c = await TcpClient.open(ports.serverFinNot);
    await within(c.ended, 5000, 'FIN from the server relayed');
    await new Promise(resolve => setTimeout(resolve, 900)); // the client's think time: the behaviour under test
    assert.equal(c.closeAt, -1, 'the proxy must not have closed the client');
    c.socket.end('late data\n');
    assert.equal(await within(late, 5000, 'origin saw the end of the client data'), 'late data\n');
    await within(c.closed, 5000, 'connection closed after both FINs');
    const log = parseTcplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_serverFinNot' }));
    assert.equal(log.ts, '--');
  });

  it('timeout tunnel supersedes timeout client and server once connected; idle both ways → cD', async () => {
    const mark = logMark(run.master);
    const c = await TcpClient.open(ports.tunnel, { allowHalfOpen: false });
    const closed = await within(c.closed, 5000, 'idle tunnel closed');
    // Not at 300 ms (client/server), at about 1 s (tunnel).
    assertAbout(closed - c.connectedAt, 1000, 'close after timeout tunnel 1s');
    const log = parseTcplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_tunnel' }));
    assert.equal(log.ts, 'cD');
  });
});
