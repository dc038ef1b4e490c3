/**
 * `balance first`: the first server by id with room below its maxconn.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeServer } from './lb-fixtures';
import { Balancer } from '../src/backend/balancer';
import { newBalanceConfig } from '../src/backend/lb-config';

function first(srvs: FakeServer[]): Balancer<FakeServer> {
  return new Balancer({ ...newBalanceConfig(), algo: 'first' }, srvs);
}

test('first: fills servers in id order (not declaration order), each up to its maxconn', () => {
  // Declared a, b, c with ids 3, 1, 2: filled b, c, a.
  const s = [new FakeServer('a', 1, { id: 3, maxconn: 2 }), new FakeServer('b', 1, { id: 1, maxconn: 3 }), new FakeServer('c', 5, { id: 2, maxconn: 1 })];
  const b = first(s);
  const got: string[] = [];
  for (let i = 0; i < 6; i++) { const x = b.pick(null, null)!; x.cur++; got.push(x.name); }
  assert.deepEqual(got, ['b', 'b', 'b', 'c', 'a', 'a']);
  assert.equal(b.pick(null, null), null, 'all full: the stream would queue');
  s[1].cur--; // a connection to b ends
  assert.equal(b.pick(null, null)!.name, 'b');
});

test('first: a server without maxconn takes everything; weights are ignored', () => {
  const s = [new FakeServer('a', 1, { id: 1 }), new FakeServer('b', 100, { id: 2 })];
  const b = first(s);
  for (let i = 0; i < 50; i++) { const x = b.pick(null, null)!; x.cur++; assert.equal(x.name, 'a'); }
});

test('first: a server that goes down is skipped after the update; exclude moves to the next one', () => {
  const s = [new FakeServer('a', 1, { id: 1, maxconn: 10 }), new FakeServer('b', 1, { id: 2, maxconn: 10 })];
  const b = first(s);
  assert.equal(b.pick(null, s[0])!.name, 'b');
  s[0].w = 0;
  b.update();
  assert.equal(b.pick(null, null)!.name, 'b');
  assert.equal(b.pick(null, s[1])!.name, 'b', 'the excluded server when it is the only one');
});
