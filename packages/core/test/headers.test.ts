/**
 * HeaderList: lazy decoding, case-insensitive lookup, rewrite operations,
 * the CR/LF/NUL guard on values set by rules, and serialisation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderList, HeaderError, isValidHeaderValue, isValidHeaderName, valueElementEnd } from '../src/http/headers';
import { parseRequestHead } from '../src/http/h1';

function parsed(fields: string): HeaderList {
  const r = parseRequestHead(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n' + fields + '\r\n', 'latin1'));
  assert.equal(r.state, 'done');
  if (r.state !== 'done') throw new Error('unreachable');
  return r.head.headers;
}

test('lookup is case-insensitive, values trimmed', () => {
  const h = parsed('Accept: */*\r\nX-Multi: a\r\nx-multi:  b \r\n');
  assert.equal(h.count, 4);
  assert.equal(h.get('ACCEPT'), '*/*');
  assert.equal(h.get('x-MULTI'), 'a');
  assert.deepEqual(h.getAll('X-Multi'), ['a', 'b']);
  assert.equal(h.indexOf('x-multi', 3), 3);
  assert.equal(h.get('missing'), undefined);
  assert.equal(h.has('host'), true);
  assert.equal(h.name(1), 'Accept');
  assert.equal(h.nameIs(1, 'accept'), true);
  assert.equal(h.nameIs(1, 'accepT'.toLowerCase()), true);
  assert.equal(h.nameIs(1, 'accep'), false);
});

test('add, set (HAProxy: delete all then append), delete, replace', () => {
  const h = parsed('X-A: 1\r\nX-B: 2\r\nx-a: 3\r\n');
  h.add('X-C', 'c');
  assert.equal(h.toBuffer().toString(), 'Host: a\r\nX-A: 1\r\nX-B: 2\r\nx-a: 3\r\nX-C: c\r\n');
  h.set('x-a', 'new');
  assert.equal(h.toBuffer().toString(), 'Host: a\r\nX-B: 2\r\nX-C: c\r\nx-a: new\r\n');
  assert.equal(h.delete('X-B'), 1);
  assert.equal(h.delete('X-B'), 0);
  assert.equal(h.replace('x-c', (v) => v.toUpperCase()), 1);
  assert.equal(h.toBuffer().toString(), 'Host: a\r\nX-C: C\r\nx-a: new\r\n');
  h.setValueAt(0, 'b.example');
  assert.equal(h.get('host'), 'b.example');
  h.removeAt(0);
  assert.equal(h.toBuffer().toString(), 'X-C: C\r\nx-a: new\r\n');
  assert.equal(h.byteLength(), h.toBuffer().length);
});

test('values set by rules never contain CR, LF or NUL', () => {
  const h = parsed('');
  for (const v of ['a\r\nX-Injected: 1', 'a\nb', 'a\rb', 'a\x00b', '\u0100']) {
    assert.throws(() => h.add('X', v), HeaderError);
    assert.throws(() => h.set('X', v), HeaderError);
    assert.throws(() => h.setValueAt(0, v), HeaderError);
    assert.throws(() => h.replace('host', () => v), HeaderError);
    assert.equal(isValidHeaderValue(v), false);
  }
  assert.equal(h.toBuffer().toString(), 'Host: a\r\n');
  h.add('X', 'tab\tand latin1 \xe9 ok');
  assert.equal(h.get('x'), 'tab\tand latin1 \xe9 ok');
});

test('names must be tokens', () => {
  const h = new HeaderList();
  for (const n of ['', 'a b', 'a:b', 'a\r\n', '\u00e9']) {
    assert.throws(() => h.add(n, 'v'), HeaderError);
    assert.equal(isValidHeaderName(n), false);
  }
  h.add("X-!#$%&'*+-.^_`|~09", 'v');
  assert.equal(h.count, 1);
});

test('a list built from strings serialises', () => {
  const h = new HeaderList();
  h.add('A', '1');
  h.add('B', '');
  assert.equal(h.toBuffer().toString(), 'A: 1\r\nB: \r\n');
  const out = Buffer.alloc(20, 0x2e);
  assert.equal(h.writeTo(out, 2), 2 + h.byteLength());
});

test('untouched long values are copied verbatim', () => {
  const long = 'x'.repeat(500) + '\xe9';
  const h = parsed('Cookie: ' + long + '\r\n');
  assert.equal(h.toBuffer().toString('latin1'), 'Host: a\r\nCookie: ' + long + '\r\n');
  assert.equal(h.get('cookie'), long);
});

test('removeAt and setValueAt check bounds', () => {
  const h = parsed('');
  assert.throws(() => h.removeAt(5), RangeError);
  assert.throws(() => h.setValueAt(-1, 'x'), RangeError);
});

test('valueElementEnd: the next comma (or semicolon) outside quoted-strings, with or without quotes in the value', () => {
  // The reference: HAProxy's http_find_hdr_value_end() / http_find_cookie_value_end() loop.
  const ref = (v: string, p: number, e: number, semi: boolean): number => {
    let quoted = false, qdpair = false;
    for (; p < e; p++) {
      const c = v[p];
      if (qdpair) qdpair = false;
      else if (quoted) { if (c === '\\') qdpair = true; else if (c === '"') quoted = false; }
      else if (c === '"') quoted = true;
      else if (c === ',' || (semi && c === ';')) return p;
    }
    return e;
  };
  const values = ['a, b', 'abc', '', ',', 'abcde,', 'abcd;e,', 'a;b,c', 'a,b;c', '"a,b", c', 'x, "a\\",b" ,d', 'k=v; q="1;2", z', 'a, b"c', 'no quote here; x'];
  for (const v of values) {
    for (let p = 0; p <= v.length; p++) {
      for (const e of [v.length, Math.max(p, v.length - 2)]) {
        for (const semi of [false, true]) assert.equal(valueElementEnd(v, p, e, semi), ref(v, p, e, semi), `${JSON.stringify(v)} p=${p} e=${e} semi=${semi}`);
      }
    }
  }
});

test('lookups agree with a plain list through random adds, sets, removals and rewrites (the name-length filter never hides a field)', () => {
  // Names of lengths that collide modulo 32 (3 and 35) and of lengths never held.
  const names = ['Host', 'X-A', 'x-a', 'Cookie', 'X-Forwarded-For', 'Te', 'X-' + 'y'.repeat(33), 'Via', 'Connection', 'X-Request-Start-Time-Sec'];
  const probes = [...names, 'x-b', 'authorization', 'upgrade', 'X-Zz', 'x-' + 'y'.repeat(33)];
  let seed = 7;
  const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  for (let round = 0; round < 200; round++) {
    const text = 'GET / HTTP/1.1\r\n' + names.slice(0, 1 + rnd(names.length)).map((n, i) => `${n}: v${i}\r\n`).join('') + '\r\n';
    const r = parseRequestHead(Buffer.from(text, 'latin1'));
    assert.equal(r.state, 'done');
    if (r.state !== 'done') return;
    const h = r.head.headers;
    const model: Array<[string, string]> = [];
    for (let i = 0; i < h.count; i++) model.push([h.name(i), h.value(i)]);
    for (let step = 0; step < 12; step++) {
      const name = names[rnd(names.length)];
      const op = rnd(4);
      if (op === 0) { h.add(name, `a${step}`); model.push([name, `a${step}`]); }
      else if (op === 1) {
        h.set(name, `s${step}`);
        for (let i = model.length - 1; i >= 0; i--) if (model[i][0].toLowerCase() === name.toLowerCase()) model.splice(i, 1);
        model.push([name, `s${step}`]);
      } else if (op === 2 && model.length > 0) { const i = rnd(model.length); h.removeAt(i); model.splice(i, 1); }
      else if (op === 3) {
        h.delete(name);
        for (let i = model.length - 1; i >= 0; i--) if (model[i][0].toLowerCase() === name.toLowerCase()) model.splice(i, 1);
      }
      for (const p of probes) {
        const want = model.filter(([n]) => n.toLowerCase() === p.toLowerCase()).map(([, v]) => v);
        assert.deepEqual(h.getAll(p), want, `getAll(${p}) after step ${step} of round ${round}`);
        assert.equal(h.has(p), want.length > 0);
        if (want.length === 0) assert.equal(h.mayHave(p.toLowerCase()) || h.indexOf(p) < 0, true);
      }
      assert.equal(h.toBuffer().toString('latin1'), model.map(([n, v]) => `${n}: ${v}\r\n`).join(''));
    }
  }
});
