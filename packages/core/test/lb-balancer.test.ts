/**
 * The Balancer's group (HAProxy's recount_servers()): active servers, else
 * the first usable backup, or all of them with `option allbackups`; the
 * rebuild after a state change; ProxyRuntime.pickServer with dispatch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { balancer, servers, tally } from './lb-fixtures';

const ALGOS = ['roundrobin', 'static-rr', 'leastconn', 'first', 'random', 'source', 'uri', 'hdr(x)'];

test('backups get nothing while an active server is usable; then the first usable backup only', () => {
  for (const algo of ALGOS) {
    const act = servers([1, 1]);
    const bck = servers([1, 1, 1], { backup: true, firstId: 3, prefix: 'b' });
    const b = balancer([...act, ...bck], algo);
    // `first` without maxconn sends everything to the first server.
    assert.deepEqual(Object.keys(tally(b, 20)).sort(), algo === 'first' ? ['s0'] : ['s0', 's1'], algo);
    for (const s of act) s.w = 0;
    b.update();
    assert.deepEqual(tally(b, 20), { b0: 20 }, algo);
    bck[0].w = 0; // the first backup goes down: the next one takes over
    b.update();
    assert.deepEqual(tally(b, 20), { b1: 20 }, algo);
    act[1].w = 1; // an active server is back
    b.update();
    assert.deepEqual(tally(b, 20), { s1: 20 }, algo);
  }
});

test('option allbackups: the algorithm runs over every usable backup, weights respected', () => {
  for (const algo of ['roundrobin', 'static-rr']) {
    const act = servers([1]);
    const bck = servers([1, 3], { backup: true, firstId: 2, prefix: 'b' });
    const b = balancer([...act, ...bck], algo, undefined, { allBackups: true });
    act[0].w = 0;
    b.update();
    assert.deepEqual(tally(b, 400), { b0: 100, b1: 300 }, algo);
  }
});

test('exclude: every algorithm avoids the failed server when another can take the stream', () => {
  for (const algo of ['roundrobin', 'static-rr', 'leastconn', 'first', 'random']) {
    const s = servers([1, 1, 1]);
    const b = balancer(s, algo);
    for (let i = 0; i < 30; i++) assert.notEqual(b.pick(null, s[i % 3]), s[i % 3], algo);
  }
});

test('nothing usable: null (pickServer then gives undefined)', () => {
  for (const algo of ALGOS) {
    const s = servers([1], { backup: true });
    const b = balancer(s, algo);
    s[0].w = 0;
    b.update();
    assert.equal(b.pick(null, null), null, algo);
  }
});
