/*
 * `except <network>` parsing and matching (str2net / str62net / ipcmp2net of
 * haproxy 2.6): forms accepted, masks applied, families kept apart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNetwork, inNetwork, parseIpInto } from '../src/util/ip-net';

test('IPv4 networks: bare address, /bits, dotted mask; host bits cleared', () => {
  assert.deepEqual(parseNetwork('10.1.2.3'), { family: 4, addr: [10, 1, 2, 3], mask: [255, 255, 255, 255] });
  assert.deepEqual(parseNetwork('10.1.2.3/8'), { family: 4, addr: [10, 0, 0, 0], mask: [255, 0, 0, 0] });
  assert.deepEqual(parseNetwork('192.168.7.9/255.255.255.0'), { family: 4, addr: [192, 168, 7, 0], mask: [255, 255, 255, 0] });
  assert.deepEqual(parseNetwork('1.2.3.4/0'), { family: 4, addr: [0, 0, 0, 0], mask: [0, 0, 0, 0] });
  assert.deepEqual(parseNetwork('1.2.3.4/20')!.mask, [255, 255, 240, 0]);
});

test('IPv6 networks', () => {
  const n = parseNetwork('2001:db8::1/32')!;
  assert.equal(n.family, 6);
  assert.deepEqual(n.addr, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(n.mask.filter(b => b === 255).length, 4);
  assert.deepEqual(parseNetwork('::1')!.addr, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
});

test('what is not a network (haproxy: "expects <address>[/mask]")', () => {
  for (const bad of ['', 'foo.example', '1.2.3.4/33', '::1/129', '1.2.3', '1.2.3.4/', '1.2.3.4/x', '256.1.1.1', '::1/255.0.0.0']) {
    assert.equal(parseNetwork(bad), undefined, bad);
  }
});

test('matching: inside, outside, other family never matches', () => {
  const v4 = parseNetwork('127.0.0.0/8')!;
  assert.equal(inNetwork('127.0.0.1', v4), true);
  assert.equal(inNetwork('127.255.1.2', v4), true);
  assert.equal(inNetwork('128.0.0.1', v4), false);
  // An IPv4 client on an IPv6 listener is an IPv6 address (ipcmp2net: family differs).
  assert.equal(inNetwork('::ffff:127.0.0.1', v4), false);
  assert.equal(inNetwork('unix', v4), false);
  const v6 = parseNetwork('fe80::/10')!;
  assert.equal(inNetwork('fe80::1', v6), true);
  assert.equal(inNetwork('febf:ffff::1', v6), true);
  assert.equal(inNetwork('fec0::1', v6), false);
  assert.equal(inNetwork('10.0.0.1', v6), false);
  const mapped = parseNetwork('::ffff:10.0.0.0/104')!;
  assert.equal(inNetwork('::ffff:10.9.8.7', mapped), true);
  assert.equal(inNetwork('::ffff:11.9.8.7', mapped), false);
});

test('parseIpInto: IPv6 forms', () => {
  const out = new Uint8Array(16);
  assert.equal(parseIpInto('1:2:3:4:5:6:7:8', out), 6);
  assert.deepEqual([...out], [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
  assert.equal(parseIpInto('1::', out), 6);
  assert.deepEqual([...out], [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(parseIpInto('::', out), 6);
  assert.equal(parseIpInto('a:b::c:d', out), 6);
  assert.deepEqual([...out], [0, 0xa, 0, 0xb, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xc, 0, 0xd]);
  for (const bad of ['1::2::3', '1:', ':1', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1:2:3:4:5:6:7::8:9']) assert.equal(parseIpInto(bad, out), 0, bad);
});
