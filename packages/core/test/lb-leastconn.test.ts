/**
 * `balance leastconn`: the fewest connections relative to weight (the
 * node's count, load()), ties rotating, full servers skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { balancer, servers } from './lb-fixtures';

test('leastconn: uneven loads, the least loaded server gets every new connection until it catches up', () => {
  const s = servers([1, 1, 1]);
  s[0].cur = 10; s[1].cur = 3; s[2].cur = 7;
  const b = balancer(s, 'leastconn');
  const got: string[] = [];
  // Each pick holds its connection: the counts even out.
  for (let i = 0; i < 14; i++) { const x = b.pick(null, null)!; x.cur++; got.push(x.name); }
  assert.deepEqual(got.slice(0, 4), ['s1', 's1', 's1', 's1'], got.join(' '));
  assert.deepEqual(s.map(x => x.cur).sort((a, b) => a - b), [11, 11, 12], got.join(' '));
});

test('leastconn: weighted, a weight-3 server carries three times the connections of a weight-1 one', () => {
  const s = servers([1, 3]);
  const b = balancer(s, 'leastconn');
  for (let i = 0; i < 400; i++) b.pick(null, null)!.cur++;
  assert.ok(Math.abs(s[1].cur / s[0].cur - 3) < 0.1, `${s[0].cur} / ${s[1].cur}`);
});

test('leastconn: ties rotate (short connections on idle servers spread over all of them)', () => {
  const s = servers([1, 1, 1, 1]);
  const b = balancer(s, 'leastconn');
  // Nothing held: every server stays at 0 connections.
  assert.deepEqual(Array.from({ length: 8 }, () => b.pick(null, null)!.name), ['s0', 's1', 's2', 's3', 's0', 's1', 's2', 's3']);
});

test('leastconn: the load read is the node\'s (other workers\' connections count)', () => {
  const s = servers([1, 1]);
  const b = balancer(s, 'leastconn');
  s[0].cur = 5; // e.g. another worker's connections on s0
  assert.equal(b.pick(null, null)!.name, 's1');
});

test('leastconn: full servers skipped, exclude avoided unless alone', () => {
  const s = servers([1, 1, 1]);
  const b = balancer(s, 'leastconn');
  s[0].maxconn = 1; s[0].cur = 1;
  s[1].cur = 5;
  assert.equal(b.pick(null, null)!.name, 's2');
  assert.equal(b.pick(null, s[2])!.name, 's1');
  s[1].maxconn = 5;
  assert.equal(b.pick(null, s[2])!.name, 's2', 'the excluded server when nothing else has room');
  s[2].maxconn = 1; s[2].cur = 1;
  assert.equal(b.pick(null, null), null);
});
