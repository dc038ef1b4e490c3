/**
 * `balance random[(<draws>)]`: random points of the consistent ring, the
 * least loaded of `draws` servers kept (power of n choices on load()).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertWeighted, balancer, servers, tally } from './lb-fixtures';

test('random(1): picks follow the weights (within 2.5% over 20k picks)', () => {
  // Weights of tens: 16 ring points per unit, so the arcs are even enough.
  const s = servers([10, 20, 50]);
  const b = balancer(s, 'random(1)');
  assertWeighted(tally(b, 20_000), s, 20_000, 0.025);
});

test('random (2 draws): a heavily loaded server is picked only when drawn twice', () => {
  const s = servers([1, 1, 1, 1]);
  s[0].cur = 50;
  const b = balancer(s, 'random');
  const c = tally(b, 8000);
  // Both draws on s0: about (1/4)² of the picks.
  assert.ok(c.s0 / 8000 < 0.1, JSON.stringify(c));
  assert.ok(c.s0 > 0, JSON.stringify(c));
});

test('random(10): with many draws the least loaded server nearly always wins', () => {
  const s = servers([10, 10, 10, 10]);
  s[0].cur = 3; s[1].cur = 1; s[2].cur = 2; s[3].cur = 4;
  const c = tally(balancer(s, 'random(10)'), 2000);
  // s1 missed only when no draw of 10 hits it: (3/4)^10 ≈ 6%.
  assert.ok(c.s1 / 2000 > 0.88, JSON.stringify(c));
});

test('random: loads compare relative to weight', () => {
  const s = servers([1, 4]);
  s[0].cur = 2; s[1].cur = 4; // s1 has 1 per weight unit, s0 2
  const c = tally(balancer(s, 'random(20)'), 1000);
  assert.ok(c.s1 > 990, JSON.stringify(c));
});

test('random: exclude is avoided; a full server is not returned (the stream would queue)', () => {
  const s = servers([1, 1]);
  const b = balancer(s, 'random');
  for (let i = 0; i < 50; i++) assert.equal(b.pick(null, s[0])!.name, 's1');
  s[0].maxconn = s[1].maxconn = 1;
  s[0].cur = s[1].cur = 1;
  assert.equal(b.pick(null, null), null);
});

test('random with hash-balance-factor: no server above its bounded share', () => {
  const s = servers([1, 1, 1, 1]);
  const b = balancer(s, 'random(1)', undefined, { balanceFactor: 110 });
  for (let i = 0; i < 400; i++) {
    b.pick(null, null)!.cur++;
    const total = s.reduce((a, x) => a + x.cur, 0);
    for (const x of s) assert.ok(x.cur <= Math.max(1, Math.ceil(total * 1.1 / 4)), `${x.name}: ${x.cur} of ${total}`);
  }
});
