/**
 * The arithmetic of dynamic server limits and retries: HAProxy's
 * srv_dynamic_maxconn (minconn/fullconn, slowstart), the slowstart weight
 * ramp, `option redispatch <interval>` and the WaitQueue FIFO.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { dynamicMaxconn } from '../src/backend/queue-keywords';
import { warmWeight } from '../src/engine/proxy-runtime';
import { redispatchOnRetry, retryStatusBit, RETRY_503, RETRY_404 } from '../src/backend/retry';
import { WaitQueue, type QueueWaiter } from '../src/backend/queue';

describe('dynamicMaxconn (srv_dynamic_maxconn)', () => {
  it('is maxconn without minconn, or once the backend reaches fullconn', () => {
    assert.equal(dynamicMaxconn(100, 0, 1000, 0, 1), 100);
    assert.equal(dynamicMaxconn(100, 10, 1000, 1000, 1), 100);
    assert.equal(dynamicMaxconn(100, 10, 1000, 5000, 1), 100);
  });
  it('grows from minconn to maxconn in proportion to beconn/fullconn', () => {
    assert.equal(dynamicMaxconn(100, 10, 1000, 0, 1), 10);
    assert.equal(dynamicMaxconn(100, 10, 1000, 50, 1), 10);
    assert.equal(dynamicMaxconn(100, 10, 1000, 500, 1), 50);
    assert.equal(dynamicMaxconn(100, 10, 1000, 999, 1), 99);
  });
  it('a warming server gets its share of the limit, at least 1', () => {
    assert.equal(dynamicMaxconn(100, 0, 1000, 0, 0.25), 25);
    assert.equal(dynamicMaxconn(100, 0, 1000, 0, 0), 1);
    assert.equal(dynamicMaxconn(3, 0, 1000, 0, 0.1), 1);
  });
});

describe('warmWeight (slowstart)', () => {
  it('ramps from 1 to the full weight over the slowstart time', () => {
    assert.equal(warmWeight(100, 1000, 10_000, 1000), 1);
    assert.equal(warmWeight(100, 1000, 10_000, 6000), 50);
    assert.equal(warmWeight(100, 1000, 10_000, 10_999), 100);
    assert.equal(warmWeight(100, 1000, 10_000, 11_000), 100);
    assert.equal(warmWeight(1, 1000, 10_000, 1001), 1);
  });
});

describe('option redispatch <interval>', () => {
  it('-1 (the default) redispatches on the last retry', () => {
    assert.deepEqual([1, 2, 3].map(n => redispatchOnRetry(-1, n, 3)), [false, false, true]);
  });
  it('-2 on the one before the last; N > 0 on every Nth', () => {
    assert.deepEqual([1, 2, 3].map(n => redispatchOnRetry(-2, n, 3)), [false, true, false]);
    assert.deepEqual([1, 2, 3, 4].map(n => redispatchOnRetry(2, n, 4)), [false, true, false, true]);
    assert.deepEqual([1, 2].map(n => redispatchOnRetry(1, n, 2)), [true, true]);
  });
  it('0 never redispatches', () => {
    assert.deepEqual([1, 2, 3].map(n => redispatchOnRetry(0, n, 3)), [false, false, false]);
  });
  it('retry-on status bits', () => {
    assert.equal(retryStatusBit(503), RETRY_503);
    assert.equal(retryStatusBit(404), RETRY_404);
    assert.equal(retryStatusBit(200), 0);
    assert.equal(retryStatusBit(505), 0);
  });
});

describe('WaitQueue', () => {
  const w = (n: number): QueueWaiter & { n: number } => ({ n, queuedAt: n, waitQueue: null, askedOf: null, dequeued() { /* unused */ }, requeue() { /* unused */ } });
  it('is first in, first out, and skips waiters that left', () => {
    const q = new WaitQueue();
    const ws = [w(1), w(2), w(3), w(4)];
    for (const x of ws) q.push(x);
    assert.equal(q.count, 4);
    q.remove(ws[1]);
    q.remove(ws[1]);
    assert.equal(q.count, 3);
    assert.equal((q.shift() as unknown as { n: number }).n, 1);
    assert.equal((q.shift() as unknown as { n: number }).n, 3);
    assert.equal((q.peek() as unknown as { n: number }).n, 4);
    assert.equal(q.count, 1);
    assert.equal((q.shift() as unknown as { n: number }).n, 4);
    assert.equal(q.shift(), null);
    assert.equal(q.count, 0);
  });
  it('a waiter removed from another queue is not counted out of this one', () => {
    const a = new WaitQueue(), b = new WaitQueue();
    const x = w(1);
    a.push(x);
    b.remove(x);
    assert.equal(a.count, 1);
    assert.equal(b.count, 0);
  });
});
