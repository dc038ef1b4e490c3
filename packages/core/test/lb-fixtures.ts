/**
 * Fixtures of the balancing unit tests (lb-*.test.ts): servers as plain
 * LbServer objects whose weight, load and maxconn a test sets, balancers
 * built from a `balance` line as the config parser reads it, and requests
 * parsed by the real HTTP parser.
 */
import assert from 'node:assert/strict';
import { Balancer } from '../src/backend/balancer';
import { newBalanceConfig, type BalanceConfig } from '../src/backend/lb-config';
import { parseBalance, parseHashType } from '../src/backend/balance-keywords';
import type { LbServer } from '../src/backend/lb-server';
import { parseRequestHead, type RequestHead } from '../src/http/h1';
import type { SampleContext } from '../src/rules/sample';

export class FakeServer implements LbServer {
  readonly cfg: { id: number; backup: boolean; weight: number };
  w: number;
  cur = 0;
  maxconn = 0;

  constructor(readonly name: string, weight = 1, opts: { id?: number; backup?: boolean; maxconn?: number } = {}) {
    this.cfg = { id: opts.id ?? 0, backup: opts.backup ?? false, weight };
    this.w = weight;
    this.maxconn = opts.maxconn ?? 0;
  }

  weight(): number { return this.w; }
  load(): number { return this.cur; }
  maxconnNow(): number { return this.maxconn; }
}

/** Servers named s0, s1 … with these weights; ids 1, 2 … as the config assigns them. */
export function servers(weights: number[], opts: { backup?: boolean; firstId?: number; prefix?: string } = {}): FakeServer[] {
  return weights.map((w, i) => new FakeServer(`${opts.prefix ?? 's'}${i}`, w, { id: (opts.firstId ?? 1) + i, backup: opts.backup }));
}

/** A BalanceConfig from `balance` and `hash-type` words, as the keywords parse them. */
export function balanceConfig(balance: string, hashType?: string, extra: Partial<BalanceConfig> = {}): BalanceConfig {
  const b = newBalanceConfig();
  const e1 = parseBalance(balance.split(' '), b);
  assert.equal(e1, undefined, `balance ${balance}`);
  if (hashType !== undefined) assert.equal(parseHashType(hashType.split(' '), b), undefined, `hash-type ${hashType}`);
  return { ...b, ...extra };
}

export function balancer(srvs: FakeServer[], balance: string, hashType?: string, extra: Partial<BalanceConfig> = {}): Balancer<FakeServer> {
  return new Balancer(balanceConfig(balance, hashType, extra), srvs);
}

/** Picks `n` times (nothing held: the load stays as the test set it); counts per server name. */
export function tally(b: Balancer<FakeServer>, n: number, ctx: (i: number) => SampleContext | null = () => null): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const s = b.pick(ctx(i), null);
    const k = s ? s.name : 'none';
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

/** Each server's share of `n` picks is within `tol` (absolute) of its weight's share. */
export function assertWeighted(counts: Record<string, number>, srvs: FakeServer[], n: number, tol: number): void {
  const tot = srvs.reduce((a, s) => a + s.w, 0);
  for (const s of srvs) {
    const got = (counts[s.name] ?? 0) / n, want = s.w / tot;
    assert.ok(Math.abs(got - want) <= tol, `${s.name}: ${(got * 100).toFixed(2)}% of picks, weight share ${(want * 100).toFixed(2)}% (${JSON.stringify(counts)})`);
  }
}

export function request(text: string): RequestHead {
  const r = parseRequestHead(Buffer.from(text.replace(/\n/g, '\r\n') + '\r\n\r\n', 'latin1'));
  if (r.state !== 'done') throw new Error(`bad request: ${text}`);
  return r.head;
}

/** What the hash-based algorithms read of a stream; everything else is absent. */
export function ctxOf(o: { req?: RequestHead | string; src?: string; body?: string; payload?: Buffer }): SampleContext {
  const req = typeof o.req === 'string' ? request(o.req) : o.req ?? null;
  const body = o.body === undefined ? null : Buffer.from(o.body, 'latin1');
  return {
    httpReq: req,
    httpRes: null,
    srcIp: () => o.src ?? '127.0.0.1',
    srcPort: () => 40000,
    dstIp: () => '127.0.0.1',
    dstPort: () => 80,
    reqBody: () => body,
    reqPayload: () => o.payload ?? null,
    resPayload: () => null,
    tlsView: () => null,
    reqFinal: true,
    status: -1,
    vars: { sess: null, txn: null, req: null, res: null },
  } as unknown as SampleContext;
}
