/**
 * The Runtime API over real UNIX sockets with a fake host: framing, levels,
 * routing prefixes, state changes reaching the host, hostile input, and the
 * socket files' life cycle. Every wait is on a socket event.
 */
import { newProxyConfig } from '@switchyard/core/proxy/sections';
const H0 = { reqTot: 0, hrsp1xx: 0, hrsp2xx: 0, hrsp3xx: 0, hrsp4xx: 0, hrsp5xx: 0, hrspOther: 0 };
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import type { CompiledConfig, ProxyConfig, ServerConfig, StatsSocketConfig, Timeouts } from '@switchyard/core/config/compiled';
import type { ServerRuntimeState } from '@switchyard/core/proxy/server-state';
import type { WorkerStats } from '@switchyard/core/stats/counters';
import { RuntimeApi, type ProcInfo, type RuntimeApiHost } from '../src/runtime-api';
import { STAT_CSV_HEADER } from '../src/stats-format';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-rtapi-'));
const adminPath = path.join(dir, 'admin.sock');
const userPath = path.join(dir, 'user.sock');

const TIMEOUTS: Timeouts = { connect: 0, client: 0, server: 0, clientFin: 0, serverFin: 0, tunnel: 0, tarpit: 0, queue: 0, httpRequest: 0, httpKeepAlive: 0, check: 0 };

function server(name: string, id: number, port: number): ServerConfig {
  return {
    file: 't.cfg', line: 1, name, id, forcedId: false, addrText: `127.0.0.1:${port}`, host: '127.0.0.1', ip: '127.0.0.1',
    port, family: 4, weight: 1, maxconn: 0, backup: false, disabled: false, poolMaxConn: -1, poolPurgeDelay: 5000,
  };
}

function proxy(name: string, id: number, fe: boolean, be: boolean, o: Partial<ProxyConfig>): ProxyConfig {
  return { ...newProxyConfig(name, 't.cfg', 1), id, cap: { fe, be }, timeouts: TIMEOUTS, ...o };
}

function socketCfg(p: string, level: StatsSocketConfig['level'], line = 1): StatsSocketConfig {
  return { file: 't.cfg', line, address: { kind: 'unix', path: p }, level, mode: 0o600 };
}

const startedAt = Date.now() - 10_000;
const config: CompiledConfig = {
  files: ['t.cfg'], listeners: [], patternFiles: {}, userlists: {},
  global: {
    maxconn: 1000, nbthread: 2, pidfile: null, logTargets: [], logTag: 'switchyard', logSendHostname: null, hardStopAfter: 0,
    statsSockets: [socketCfg(adminPath, 'admin'), socketCfg(userPath, 'user', 2)], localPeer: 'vm', node: 'vm', bufsize: 16384, maxHttpHdr: 101, h1Limits: { maxHeadSize: 15277, maxHeaders: 101 },
  },
  proxies: [
    proxy('fe', 2, true, false, { defaultBackend: 'be' }),
    proxy('be', 3, false, true, { servers: [server('s1', 1, 8081), server('s2', 2, 8082)] }),
  ],
};

const states: ServerRuntimeState[][] = [[], [
  { admin: 0, op: 2, uweight: 1, iweight: 1, lastChange: startedAt },
  { admin: 0, op: 2, uweight: 1, iweight: 1, lastChange: startedAt },
]];

function workerStats(pid: number, cum: number): WorkerStats {
  return {
    pid, startedAt: startedAt + 5000, currConns: 1, cumConns: cum, maxConnReached: 0,
    proxies: [
      { name: 'fe', fe: { ...H0, scur: 1, smax: 2, stot: cum, bin: 10, bout: 20, dreq: 0, dresp: 0, ereq: 0, connTot: cum, dcon: 0, dses: 0 }, be: null, servers: [] },
      { name: 'be', fe: null, be: null, servers: [] },
    ],
  };
}

const calls: string[] = [];
const collected: Array<number | undefined> = [];
const procs: ProcInfo[] = [
  { pid: process.pid, role: 'master', relPid: 0, reloads: 0, failedReloads: 0, startedAt, version: '0.1.0' },
  { pid: 101, role: 'worker', relPid: 1, reloads: 0, startedAt: startedAt + 5000, version: '0.1.0' },
  { pid: 102, role: 'worker', relPid: 2, reloads: 0, startedAt: startedAt + 5000, version: '0.1.0' },
];
const host: RuntimeApiHost = {
  config: () => config,
  version: '0.1.0',
  masterPid: process.pid,
  startedAt,
  collectStats: async (pid) => {
    collected.push(pid);
    return [workerStats(101, 5), workerStats(102, 7)].filter((w) => pid === undefined || w.pid === pid);
  },
  serverStates: () => states,
  setServerAdmin: (p, s, set, clear) => {
    calls.push(`admin ${p} ${s} set=${set} clear=${clear}`);
    states[p][s] = { ...states[p][s], admin: (states[p][s].admin | set) & ~clear };
  },
  setServerWeight: (p, s, w) => {
    calls.push(`weight ${p} ${s} ${w}`);
    states[p][s] = { ...states[p][s], uweight: w };
  },
  processes: () => procs,
};

/** Send `data`, optionally half-close, and collect everything until the server closes. */
async function ask(p: string, data: string | Buffer, opts: { end?: boolean } = {}): Promise<string> {
  const sock = net.createConnection(p);
  sock.on('error', () => { /* the server may drop us mid-write */ });
  await once(sock, 'connect');
  const chunks: Buffer[] = [];
  sock.on('data', (c: Buffer) => chunks.push(c));
  sock.write(data);
  if (opts.end) sock.end();
  await once(sock, 'close');
  return Buffer.concat(chunks).toString('utf8');
}

/** An interactive client: `until` waits for the reply to end with a string. */
class Client {
  private buf = '';
  readonly closed: Promise<unknown>;
  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (c: Buffer) => { this.buf += c.toString('utf8'); sock.emit('progress'); });
    this.closed = once(sock, 'close');
  }
  static async connect(p: string): Promise<Client> {
    const sock = net.createConnection(p);
    sock.on('error', () => { /* reset by the server */ });
    await once(sock, 'connect');
    return new Client(sock);
  }
  send(s: string): void { this.sock.write(s); }
  async until(suffix: string): Promise<string> {
    while (!this.buf.endsWith(suffix)) await once(this.sock, 'progress');
    const out = this.buf;
    this.buf = '';
    return out;
  }
  get rest(): string { return this.buf; }
}

let api: RuntimeApi;

before(async () => {
  // A stale file from a previous run is replaced.
  fs.writeFileSync(adminPath, 'stale');
  api = await RuntimeApi.start(config.global.statsSockets, host, { maxLineBytes: 4096 });
});

after(async () => {
  await api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('Runtime API sockets', () => {
  test('UNIX socket files are sockets with mode 0600 (a stale file was replaced)', () => {
    for (const p of [adminPath, userPath]) {
      const st = fs.statSync(p);
      assert.ok(st.isSocket(), p);
      assert.equal(st.mode & 0o777, 0o600);
    }
    assert.deepEqual(fs.readdirSync(dir).sort(), ['admin.sock', 'user.sock'], 'no temporary file left');
  });

  test('update() binds new sockets, closes removed ones, and rolls back a failed bind', async () => {
    const extra = path.join(dir, 'extra.sock');
    await api.update([...config.global.statsSockets, socketCfg(extra, 'operator', 3)]);
    assert.equal(await ask(extra, 'show cli level\n'), 'operator\n\n');
    const bad = socketCfg(path.join(dir, 'missing', 'x.sock'), 'admin', 4);
    await assert.rejects(api.update([...config.global.statsSockets, bad]), (e: Error) => {
      assert.match(e.message, /t\.cfg:4: cannot bind socket .*missing\/x\.sock: ENOENT/);
      return true;
    });
    // The failed update changed nothing: the extra socket still answers.
    assert.equal(await ask(extra, 'show cli level\n'), 'operator\n\n');
    await api.update(config.global.statsSockets);
    assert.ok(!fs.existsSync(extra), 'removed socket file is unlinked');
    assert.equal(await ask(adminPath, 'show cli level\n'), 'admin\n\n');
  });

  test('start() rejects naming the address, and leaves nothing bound', async () => {
    const ok = path.join(dir, 'first.sock');
    const bad = socketCfg(path.join(dir, 'nope', 'y.sock'), 'admin', 7);
    await assert.rejects(RuntimeApi.start([socketCfg(ok, 'admin'), bad], host), /t\.cfg:7: cannot bind socket .*nope\/y\.sock: ENOENT/);
    assert.ok(!fs.existsSync(ok));
  });

  test('close() removes the socket files', async () => {
    const p = path.join(dir, 'short.sock');
    const a = await RuntimeApi.start([socketCfg(p, 'admin')], host);
    assert.ok(fs.existsSync(p));
    await a.close();
    assert.ok(!fs.existsSync(p));
  });
});

describe('Runtime API commands', () => {
  test('help lists the commands with HAProxy\'s usage lines', async () => {
    const out = await ask(adminPath, 'help\n');
    assert.ok(out.startsWith('The following commands are valid at this level:\n  disable agent                           : disable agent checks\n'), out);
    assert.ok(out.includes('\n  disable server (DEPRECATED)             : disable a server'), out);
    assert.ok(out.includes('\n  show stat [desc|json|no-maint|typed|up]*: report counters for each proxy and server\n'));
    assert.ok(out.endsWith(
      '  help [<command>]                        : list matching or all commands\n' +
      '  prompt                                  : toggle interactive mode with prompt\n' +
      '  quit                                    : disconnect\n\n'));
  });

  test('unknown commands answer the usage screen', async () => {
    assert.ok((await ask(adminPath, 'show foo\n')).startsWith('Unknown command, but maybe one of the following ones is a better match:\n  show '));
    assert.ok((await ask(adminPath, '\n')).startsWith('Unknown command. Please enter one of the following commands only:\n'));
  });

  test('show info: HAProxy\'s fields in order, counters summed over workers', async () => {
    const out = await ask(adminPath, 'show info\n');
    assert.ok(out.endsWith('\n\n'));
    const names = out.trimEnd().split('\n').map((l) => l.slice(0, l.indexOf(':')));
    assert.deepEqual(names.slice(0, 20), [
      'Name', 'Version', 'Release_date', 'Nbthread', 'Nbproc', 'Process_num', 'Pid', 'Uptime', 'Uptime_sec', 'Memmax_MB',
      'PoolAlloc_MB', 'PoolUsed_MB', 'PoolFailed', 'Ulimit-n', 'Maxsock', 'Maxconn', 'Hard_maxconn', 'CurrConns', 'CumConns', 'CumReq',
    ]);
    assert.equal(names.length, 69);
    assert.equal(names.at(-1), 'Tainted');
    assert.ok(out.startsWith('Name: Switchyard\nVersion: 0.1.0\n'));
    assert.ok(out.includes('\nNbthread: 2\nNbproc: 1\nProcess_num: 1\n'));
    assert.ok(out.includes(`\nPid: ${process.pid}\n`));
    assert.ok(out.includes('\nCurrConns: 2\nCumConns: 12\n'));
  });

  test('@<n> and @!<pid> route show info / show stat to one worker', async () => {
    collected.length = 0;
    const one = await ask(adminPath, '@1 show info\n');
    assert.ok(one.includes('\nProcess_num: 1\nPid: 101\n'));
    assert.ok(one.includes('\nCumConns: 5\n'));
    const two = await ask(adminPath, '@!102 show info typed\n');
    assert.ok(two.includes('\n5.Process_num.2:KGP:u32:2\n6.Pid.2:SGP:u32:102\n'));
    assert.ok(two.includes('\n18.CumConns.2:MCP:u32:7\n'));
    assert.deepEqual(collected, [101, 102]);
    // Alone, a prefix sticks for the following commands.
    const sticky = await ask(adminPath, '@2; show stat fe 1 -1 typed\n');
    assert.ok(sticky.startsWith('F.2.0.0.pxname.2:KNS:str:fe\n'), sticky);
    assert.equal(await ask(adminPath, '@9 show info\n'), "Can't find the target PID matching the prefix '@9'\n");
  });

  test('show stat: HAProxy\'s header and a summed frontend row', async () => {
    const out = await ask(adminPath, 'show stat\n');
    const lines = out.split('\n');
    assert.equal(lines[0] + '\n', STAT_CSV_HEADER);
    assert.ok(lines[0].startsWith('# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,'));
    assert.ok(lines[1].startsWith('fe,FRONTEND,,,2,4,1000,12,20,40,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,'), lines[1]);
    assert.ok(lines[2].startsWith('be,s1,0,0,0,0,,0,0,0,,0,,0,0,0,0,no check,1,1,0,'), lines[2]);
    assert.ok(lines[2].includes(',127.0.0.1:8081,'));
    assert.ok(lines[4].startsWith('be,BACKEND,'));
    assert.ok(out.endsWith(',\n\n'));
    assert.equal(await ask(adminPath, 'show stat nosuch 1 1\n'), 'No such proxy.\n\n');
    assert.equal(await ask(adminPath, 'show stat domain foo\n'), 'Invalid statistics domain.\n\n');
  });

  test('state changes reach the host with HAProxy\'s flags; errors are HAProxy\'s', async () => {
    calls.length = 0;
    const out = await ask(adminPath,
      'set server be/s1 state drain;disable server be/s2;enable server #3/#2;set server be/s1 weight 50;set weight be/s2 200%;get weight be/s1\n');
    assert.equal(out, '\n\n\n\n\n50 (initial 1)\n\n');
    assert.deepEqual(calls, [
      'admin 1 0 set=8 clear=1', 'admin 1 1 set=1 clear=8', 'admin 1 1 set=0 clear=9', 'weight 1 0 50', 'weight 1 1 2',
    ]);
    assert.equal(await ask(adminPath, 'set server be/nosuch state ready\n'), 'No such server.\n\n');
    assert.equal(await ask(adminPath, 'set server nob/s1 state ready\n'), 'No such backend.\n\n');
    assert.equal(await ask(adminPath, 'set server be state ready\n'), "Require 'backend/server'.\n\n");
    assert.equal(await ask(adminPath, 'set server be/s1 state up\n'), "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n");
    assert.equal(await ask(adminPath, 'set server be/s1 weight 300\n'), 'Absolute weight can only be between 0 and 256 inclusive.\n\n');
    // HAProxy 2.6 forgets the newline on these two, so no empty line follows.
    assert.equal(await ask(adminPath, 'set server be/s1 weight abc\n'), 'Empty weight string empty or preceded by garbage\n');
    assert.equal(await ask(adminPath, 'set server be/s1 weight 5x\n'), 'Trailing garbage in weight string\n');
    assert.ok((await ask(adminPath, 'set server be/s1\n')).startsWith('usage: set server <backend>/<server> addr | agent |'));
    assert.equal(calls.length, 5, 'no host call for rejected commands');
    assert.ok((await ask(adminPath, 'show servers state be\n')).includes('\n3 be 1 s1 127.0.0.1 2 8 50 1 '));
  });

  test('level user: Permission denied, no addresses', async () => {
    calls.length = 0;
    assert.equal(await ask(userPath, 'set server be/s1 state ready\n'), 'Permission denied\n\n');
    assert.equal(await ask(userPath, 'disable server be/s1;operator;show cli level\n'), 'Permission denied\n\nPermission denied\n\nuser\n\n');
    assert.deepEqual(calls, []);
    const stat = (await ask(userPath, 'show stat be 4 1\n')).split('\n')[1];
    assert.ok(stat.startsWith('be,s1,') && !stat.includes('127.0.0.1'), stat);
    // An admin session may lower its own level, never raise it.
    assert.equal(await ask(adminPath, 'user;set server be/s1 state ready;show cli level\n'), '\nPermission denied\n\nuser\n\n');
  });

  test('`;` separates commands, `\\;` escapes it', async () => {
    assert.equal(await ask(adminPath, 'show cli level;get weight be/s2;quit;show cli level\n'), 'admin\n\n2 (initial 1)\n\n');
    assert.equal(await ask(adminPath, 'get weight be/s1\\;x\n'), 'No such server.\n\n');
    assert.equal(await ask(adminPath, 'show cli level\r\nshow cli level\n'), 'admin\n\nadmin\n\n');
  });

  test('prompt mode: "> " after each reply until quit', async () => {
    const c = await Client.connect(adminPath);
    c.send('prompt\n');
    assert.equal(await c.until('> '), '\n> ');
    c.send('show cli level\n');
    assert.equal(await c.until('> '), 'admin\n\n> ');
    c.send('get weight be/nosuch\n');
    assert.equal(await c.until('> '), 'No such server.\n\n> ');
    c.send('quit\n');
    await c.closed;
    assert.equal(c.rest, '');
  });

  test('show proc: the master CLI table', async () => {
    const out = await ask(adminPath, 'show proc\n');
    assert.ok(out.startsWith('#<PID>          <type>          <reloads>       <uptime>        <version>      \n'));
    assert.ok(out.includes('\n# workers\n101             worker          0               0d00h00m05s     0.1.0          \n'));
    assert.ok(out.endsWith('# programs\n\n'));
  });
});

describe('Runtime API against hostile clients', () => {
  test('binary garbage gets the usage screen, the server keeps serving', async () => {
    const garbage = Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x41, 0x80, 0x81, 0x0d, 0x0a]);
    const out = await ask(adminPath, garbage);
    assert.ok(out.startsWith('Unknown command'), out);
    assert.ok(out.endsWith('disconnect\n\n'));
    assert.equal(await ask(adminPath, 'show cli level\n'), 'admin\n\n');
  });

  test('an over-long line closes the connection without a reply', async () => {
    assert.equal(await ask(adminPath, 'x'.repeat(10_000)), '');
    assert.equal(await ask(adminPath, 'show ' + 'a '.repeat(5000) + '\n'), '');
    assert.equal(await ask(adminPath, 'show cli level\n'), 'admin\n\n');
  });

  test('half-closed clients: complete lines are answered, a partial one is not run', async () => {
    assert.equal(await ask(adminPath, 'show cli level\n', { end: true }), 'admin\n\n');
    calls.length = 0;
    assert.equal(await ask(adminPath, 'set server be/s1 state maint', { end: true }), '');
    assert.deepEqual(calls, []);
  });

  test('a payload (`<<`) is gathered until an empty line', async () => {
    const c = await Client.connect(adminPath);
    c.send('prompt\nadd map x <<\n');
    assert.equal(await c.until('+ '), '\n> + ');
    c.send('show cli level\n');
    assert.equal(await c.until('+ '), '+ ');
    c.send('\n');
    assert.ok((await c.until('\n> ')).startsWith('Unknown command'));
    c.send('quit\n');
    await c.closed;
  });

  test('idle clients are dropped after the CLI timeout', async () => {
    const p = path.join(dir, 'timeout.sock');
    const a = await RuntimeApi.start([socketCfg(p, 'admin')], host, { timeoutMs: 50 });
    try {
      const c = await Client.connect(p);
      c.send('prompt\n');
      await c.until('> ');
      await c.closed;
      const silent = await Client.connect(p);
      await silent.closed;
    } finally {
      await a.close();
    }
  });
});
