/**
 * Traffic logs of TCP mode with the real master: HAProxy's `option tcplog`
 * line, termination flags, `option dontlognull`, the default `Connect from`
 * line, and a UDP syslog target. Expected lines were compared with HAProxy
 * 2.6.12 running the same configuration (e.g. a lone stream logs
 * `1/1/0/0/0`; <NOSRV> logs `-1/-1/Tt 0 SC`; dontlognull skips any stream
 * whose client sent nothing, even if the server sent a banner).
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import type * as net from 'node:net';
import {
  Origin, SyslogReceiver, TcpClient, TCPLOG_RE, freePorts, logLinesFor, logMark, parseTcplog, sendPattern,
  startProxy, waitForLog, within, type ProxyRun,
} from './helpers';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `dd/Mon/yyyy:HH:MM:SS.mmm` (local time) → ms since the epoch. */
function parseLogDate(s: string): number {
  const m = /^(\d\d)\/([A-Z][a-z]{2})\/(\d{4}):(\d\d):(\d\d):(\d\d)\.(\d{3})$/.exec(s);
  assert.ok(m, `bad %t '${s}'`);
  return new Date(+m[3], MONTHS.indexOf(m[2]), +m[1], +m[4], +m[5], +m[6], +m[7]).getTime();
}

describe('tcp log', () => {
  let run: ProxyRun;
  let syslog: SyslogReceiver;
  const origins: Origin[] = [];
  let ports: Record<string, number> = {};
  const rstSockets: net.Socket[] = [];

  before(async () => {
    syslog = await SyslogReceiver.start();
    const mk = async (name: string, h: (s: net.Socket, o: Origin) => void): Promise<number> => {
      const o = new Origin(name, h);
      origins.push(o);
      return o.listen();
    };
    // Answers the first bytes with exactly 1234 bytes; ends when the client does.
    const oApp = await mk('app', s => { s.once('data', () => s.write(Buffer.alloc(1234, 'z'))); s.on('end', () => s.end()); });
    // Sends a banner at once; ends when the client does.
    const oBanner = await mk('banner', s => { s.write('banner\n'); s.resume(); s.on('end', () => s.end()); });
    // Streams 4 MiB, then resets.
    const oStream = await mk('stream', s => { s.resume(); void sendPattern(s, 4 * 1024 * 1024, 3, false).catch(() => { /* client went away */ }); });
    // Sends 1000 bytes; the test resets it once the client has them (a reset
    // racing the data's delivery may discard it in the kernel).
    const oRst = await mk('rst', s => { s.resume(); rstSockets.push(s); s.write(Buffer.alloc(1000, 'r')); });
    const names = ['main', 'null', 'down', 'plain', 'udp', 'stream', 'rst', 'hold'];
    const p = await freePorts(names.length);
    ports = Object.fromEntries(names.map((n, i) => [n, p[i]]));
    const fe = (name: string, be: string, extra: string[] = []): string[] =>
      [`frontend fe_${name}`, `    bind 127.0.0.1:${ports[name]}`, ...extra.map(l => `    ${l}`), `    default_backend ${be}`];
    run = await startProxy([
      'global',
      '    nbthread 1',
      '    log stdout format raw local0',
      '    log-tag sytest',
      // First a frontend without tcplog: HAProxy's default line at accept
      // time (`no option tcplog` does not exist). It comes before the
      // tcplog defaults because a second `defaults` does not reset options
      // in Switchyard yet (HAProxy's does; reported).
      'defaults',
      '    mode tcp',
      '    log global',
      '    timeout connect 5s',
      '    timeout client 30s',
      '    timeout server 30s',
      ...fe('plain', 'be_app'),
      'defaults',
      '    mode tcp',
      '    log global',
      '    option tcplog',
      '    timeout connect 5s',
      '    timeout client 30s',
      '    timeout server 30s',
      ...fe('main', 'be_app'),
      ...fe('hold', 'be_app'),
      ...fe('null', 'be_banner', ['option dontlognull']),
      ...fe('down', 'be_down'),
      ...fe('udp', 'be_app', ['no log', `log 127.0.0.1:${syslog.port} local0`]),
      ...fe('stream', 'be_stream'),
      ...fe('rst', 'be_rst'),
      'backend be_app',
      `    server app1 127.0.0.1:${oApp}`,
      'backend be_banner',
      `    server banner 127.0.0.1:${oBanner}`,
      'backend be_down',
      `    server gone 127.0.0.1:${oApp} disabled`,
      'backend be_stream',
      `    server stream 127.0.0.1:${oStream}`,
      'backend be_rst',
      `    server rst 127.0.0.1:${oRst}`,
      '',
    ].join('\n'));
  });

  after(async () => {
    await run?.stop();
    syslog?.close();
    await Promise.all(origins.map(o => o.close()));
  });

  /** Send "abc", read the 1234-byte answer, close; resolves with the client. */
  async function exchange(port: number): Promise<TcpClient> {
    const c = await TcpClient.open(port, { allowHalfOpen: false });
    c.socket.write('abc');
    await c.waitData(1234);
    c.socket.end();
    await within(c.closed, 5000, 'closed');
    return c;
  }

  it('option tcplog: HAProxy\'s line with names, timers, bytes, `--` and connection counts', async () => {
    const mark = logMark(run.master);
    const t0 = Date.now();
    const c = await exchange(ports.main);
    const line = await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_main' });
    assert.match(line, TCPLOG_RE);
    const l = parseTcplog(line);
    assert.equal(`${l.ip}:${l.port}`, `127.0.0.1:${c.localPort}`);
    const accepted = parseLogDate(l.date);
    assert.ok(Math.abs(accepted - t0) < 2000, `accept date ${l.date} is not now`);
    assert.equal(`${l.fe} ${l.be}/${l.srv}`, 'fe_main be_app/app1');
    assert.ok(Number(l.tw) >= 0 && Number(l.tc) >= 0 && Number(l.tt) >= Number(l.tc), `timers ${l.tw}/${l.tc}/${l.tt}`);
    assert.ok(Number(l.tt) <= c.closeAt - t0 + 50, `Tt ${l.tt} longer than the connection`);
    assert.equal(l.bytes, '1234', 'bytes sent to the client');
    assert.equal(l.ts, '--', 'normal close');
    // A lone stream: counted in actconn and feconn, no longer in beconn/srv_conn (HAProxy 2.6.12 logs the same).
    assert.equal(`${l.ac}/${l.fc}/${l.bc}/${l.sc}/${l.rc} ${l.sq}/${l.bq}`, '1/1/0/0/0 0/0');
  });

  it('%ac counts every stream of the process, %fc those of the frontend, %bc/%sc the others still on the backend/server', async () => {
    // One stream held open on another frontend, same backend and server.
    const hold = await TcpClient.open(ports.hold, { allowHalfOpen: false });
    hold.socket.write('x');
    await hold.waitData(1234);
    const mark = logMark(run.master);
    const c = await exchange(ports.main);
    const l = parseTcplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_main' }));
    assert.equal(`${l.ac}/${l.fc}/${l.bc}/${l.sc}`, '2/1/1/1');
    hold.socket.end();
    await within(hold.closed, 5000, 'held stream closed');
  });

  it('no usable server: <NOSRV>, Tw and Tc -1, SC, nothing sent', async () => {
    const mark = logMark(run.master);
    const c = await TcpClient.open(ports.down, { allowHalfOpen: false });
    await within(c.closed, 5000, 'client closed');
    assert.equal(c.received.length, 0);
    const l = parseTcplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_down' }));
    assert.equal(`${l.fe} ${l.be}/${l.srv} ${l.tw}/${l.tc} ${l.bytes} ${l.ts} ${l.ac}/${l.fc}/${l.bc}/${l.sc}/${l.rc}`,
      'fe_down be_down/<NOSRV> -1/-1 0 SC 1/1/0/0/0');
  });

  it('client reset mid-transfer logs CD; server reset mid-transfer logs SD', async () => {
    const mark = logMark(run.master);
    const c = await TcpClient.open(ports.stream);
    await c.waitData(64 * 1024);
    c.reset();
    const lc = parseTcplog(await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_stream' }));
    assert.equal(lc.ts, 'CD');
    assert.ok(Number(lc.bytes) >= 64 * 1024, `bytes ${lc.bytes}`);

    const s = await TcpClient.open(ports.rst, { allowHalfOpen: false });
    await s.waitData(1000);
    rstSockets[rstSockets.length - 1].resetAndDestroy();
    await within(s.closed, 5000, 'closed after the server reset');
    const ls = parseTcplog(await waitForLog(run.master, s.localPort, { from: mark, fe: 'fe_rst' }));
    assert.equal(ls.ts, 'SD');
    assert.equal(ls.bytes, String(s.received.length), 'bytes logged = bytes the client got');
  });

  it('option dontlognull: streams whose client sent nothing are not logged (even with a server banner)', async () => {
    const mark = logMark(run.master);
    // 1. connect, read the banner, close without sending
    const a = await TcpClient.open(ports.null, { allowHalfOpen: false });
    await a.waitData('banner\n');
    a.socket.end();
    await within(a.closed, 5000, 'a closed');
    // 2. connect and reset at once
    const b = await TcpClient.open(ports.null);
    await b.waitData('banner\n');
    b.reset();
    // 3. a client that sends a byte: logged, and logged after 1 and 2 (one worker, ordered events)
    const c = await TcpClient.open(ports.null, { allowHalfOpen: false });
    c.socket.end('x');
    await within(c.closed, 5000, 'c closed');
    const line = await waitForLog(run.master, c.localPort, { from: mark, fe: 'fe_null' });
    assert.equal(parseTcplog(line).ts, '--');
    const after = run.master.stdout.slice(mark);
    assert.deepEqual(after.split('\n').filter(x => x.includes(' fe_null ')), [line], 'only the stream with client data is logged');
    // Control: the same null stream on a frontend without dontlognull is logged.
    const mark2 = logMark(run.master);
    const d = await TcpClient.open(ports.main, { allowHalfOpen: false });
    d.socket.end();
    await within(d.closed, 5000, 'd closed');
    assert.equal(parseTcplog(await waitForLog(run.master, d.localPort, { from: mark2, fe: 'fe_main' })).ts, '--');
  });

  it('without option tcplog: `Connect from <client> to <listener> (fe/TCP)` at accept', async () => {
    const mark = logMark(run.master);
    const c = await exchange(ports.plain);
    const line = await waitForLog(run.master, c.localPort, { from: mark, prefix: 'Connect from ', fe: 'fe_plain' });
    assert.equal(line, `Connect from 127.0.0.1:${c.localPort} to 127.0.0.1:${ports.plain} (fe_plain/TCP)`);
    assert.deepEqual(logLinesFor(run.master, c.localPort).filter(l => TCPLOG_RE.test(l) && l.includes('fe_plain')), [], 'no tcplog line');
  });

  it('UDP syslog target: one RFC 3164-framed datagram per stream (<PRI>Mmm dd hh:mm:ss tag[pid]: line)', async () => {
    const mark = logMark(run.master);
    const c = await exchange(ports.udp);
    const dgram = (await syslog.waitFor(`127.0.0.1:${c.localPort} `)).toString('utf8');
    const m = /^<(\d+)>([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) sytest\[(\d+)\]: ([^\n]*)\n$/.exec(dgram);
    assert.ok(m, `not an RFC 3164 (HAProxy 'local' format) datagram: ${JSON.stringify(dgram)}`);
    assert.equal(Number(m[1]), 16 * 8 + 6, 'PRI = local0 * 8 + info');
    const now = new Date();
    assert.equal(m[2], MONTHS[now.getMonth()]);
    assert.equal(Number(m[3]), now.getDate());
    assert.ok(Number(m[7]) > 0);
    const l = parseTcplog(m[8]);
    assert.equal(`${l.fe} ${l.be}/${l.srv} ${l.bytes} ${l.ts}`, 'fe_udp be_app/app1 1234 --');
    // `no log` then a target of its own: nothing of this frontend on stdout.
    assert.deepEqual(run.master.stdout.slice(mark).split('\n').filter(x => x.includes(' fe_udp ')), []);
  });
});
