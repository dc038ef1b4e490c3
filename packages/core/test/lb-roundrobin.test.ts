/**
 * `balance roundrobin` (smooth weighted round-robin) and `balance static-rr`
 * (the server map, HAProxy's recalc_server_map() order).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertWeighted, balancer, servers, tally } from './lb-fixtures';

test('roundrobin: weights 1/2/3/10 within 2% over 10k picks', () => {
  const s = servers([1, 2, 3, 10]);
  const b = balancer(s, 'roundrobin');
  assertWeighted(tally(b, 10_000), s, 10_000, 0.02);
});

test('roundrobin: smooth interleaving, a 5:1:1 set never sends the heavy server 5 in a row', () => {
  const s = servers([5, 1, 1]);
  const b = balancer(s, 'roundrobin');
  const seq = Array.from({ length: 70 }, () => b.pick(null, null)!.name);
  assert.deepEqual(seq.slice(0, 7), ['s0', 's0', 's0', 's1', 's0', 's2', 's0']);
  let run = 0, longest = 0;
  for (const n of seq) { run = n === 's0' ? run + 1 : 0; longest = Math.max(longest, run); }
  // A plain weighted round-robin sends a a a a a b c; here at most 4 in a row, across turns.
  assert.ok(longest <= 4, `longest run of s0: ${longest} in ${seq.join(' ')}`);
  // Every window of 7 picks is exactly the weights.
  for (let i = 0; i + 7 <= seq.length; i += 7) {
    const w = seq.slice(i, i + 7);
    assert.deepEqual([w.filter(x => x === 's0').length, w.filter(x => x === 's1').length, w.filter(x => x === 's2').length], [5, 1, 1]);
  }
});

test('roundrobin: a weight change takes effect at the next pick, without a rebuild', () => {
  const s = servers([1, 1]);
  const b = balancer(s, 'roundrobin');
  assertWeighted(tally(b, 1000), s, 1000, 0.01);
  s[1].w = 3; // set weight: read at each pick
  const c = tally(b, 4000);
  assert.ok(Math.abs(c.s1 / 4000 - 0.75) <= 0.01, JSON.stringify(c));
  s[1].w = 0; // weight 0: no more traffic
  assert.deepEqual(tally(b, 100), { s0: 100 });
});

test('roundrobin: a server at its maxconn is skipped; when all are full, nothing (the stream would queue)', () => {
  const s = servers([1, 1, 1]);
  s[1].maxconn = 2; s[1].cur = 2;
  const b = balancer(s, 'roundrobin');
  assert.deepEqual(tally(b, 100), { s0: 50, s2: 50 });
  s[0].maxconn = s[2].maxconn = 1;
  s[0].cur = s[2].cur = 1;
  assert.equal(b.pick(null, null), null);
  // Freed: the full servers earned no credit meanwhile, so no burst.
  s[1].cur = 0;
  s[0].cur = 0;
  assert.deepEqual(tally(b, 10), { s0: 5, s1: 5 });
});

test('roundrobin: exclude avoids the failed server unless it is the only one', () => {
  const s = servers([1, 1]);
  const b = balancer(s, 'roundrobin');
  for (let i = 0; i < 10; i++) assert.equal(b.pick(null, s[0])!.name, 's1');
  const one = servers([1]);
  assert.equal(balancer(one, 'roundrobin').pick(null, one[0]), one[0]);
});

test('static-rr: haproxy 2.6.12 order for weights 1/2/3/4 (recalc_server_map)', () => {
  const s = servers([1, 2, 3, 4]);
  const b = balancer(s, 'static-rr');
  // 20 requests through haproxy 2.6.12, nbthread 1, `balance static-rr`.
  const hap = 's0 s1 s3 s2 s3 s1 s2 s3 s2 s3 s0 s1 s3 s2 s3 s1 s2 s3 s2 s3';
  assert.equal(Array.from({ length: 20 }, () => b.pick(null, null)!.name).join(' '), hap);
});

test('static-rr: weights within 2% over 10k picks; weights divided by their GCD (2/4/6 is 1/2/3)', () => {
  const s = servers([2, 4, 6, 20]);
  const b = balancer(s, 'static-rr');
  assertWeighted(tally(b, 10_000), s, 10_000, 0.02);
});

test('static-rr: weight changes are ignored until the map is rebuilt (a state change)', () => {
  const s = servers([1, 1]);
  const b = balancer(s, 'static-rr');
  s[1].w = 3;
  assert.deepEqual(tally(b, 100), { s0: 50, s1: 50 });
  b.update();
  assertWeighted(tally(b, 400), s, 400, 0.001);
});

test('static-rr: full servers skipped, exclude avoided', () => {
  const s = servers([1, 1, 1]);
  const b = balancer(s, 'static-rr');
  s[2].maxconn = 1; s[2].cur = 1;
  assert.deepEqual(tally(b, 10), { s0: 5, s1: 5 });
  for (let i = 0; i < 5; i++) assert.equal(b.pick(null, s[0])!.name, 's1');
  s[0].maxconn = s[1].maxconn = 1; s[0].cur = s[1].cur = 1;
  assert.equal(b.pick(null, null), null);
});

test('static-rr with thousands of slots: the deadline fill keeps weights exact', () => {
  // 2000 servers × weights 1..7 exceed the exact fill's budget.
  const s = servers(Array.from({ length: 2000 }, (_, i) => 1 + (i % 7)));
  const b = balancer(s, 'static-rr');
  const tot = s.reduce((a, x) => a + x.w, 0);
  const c = tally(b, tot);
  for (const x of s) assert.equal(c[x.name], x.w, x.name);
});
