/**
 * serializeHead() and HeaderList.writeTo() copy what was received as it is
 * when the bytes are exactly what they would write (the start line, runs of
 * "name: value\r\n" fields); anything else is written from its parts. Both
 * paths must give the same bytes: every head here is serialised and
 * compared with a reference built from the parsed parts alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequestHead, parseResponseHead, METH_GET, type MessageHead, type RequestHead, type ResponseHead } from '../src/http/h1';
import { serializeHead } from '../src/engine/http-stream';

/** What serializeHead() must write: the line from strings, then each field from its name and value. */
function reference(line: string, h: MessageHead): string {
  let s = line + '\r\n';
  const l = h.headers;
  for (let i = 0; i < l.count; i++) s += `${l.name(i)}: ${l.value(i)}\r\n`;
  return s + '\r\n';
}

const reqLine = (h: RequestHead): string => `${h.method} ${h.target} HTTP/1.${h.version - 10}`;
const resLine = (h: ResponseHead): string => `HTTP/1.${h.version - 10} ${h.status} ${h.reason}`;

function request(text: string): RequestHead {
  const r = parseRequestHead(Buffer.from(text, 'latin1'));
  if (r.state !== 'done') throw new Error(`not parsed: ${JSON.stringify(text)} (${r.state})`);
  return r.head;
}

function response(text: string): ResponseHead {
  const r = parseResponseHead(Buffer.from(text, 'latin1'), METH_GET);
  if (r.state !== 'done') throw new Error(`not parsed: ${JSON.stringify(text)} (${r.state})`);
  return r.head;
}

const FIELDS = [
  'Host: a.example\r\nAccept: */*\r\nX-Long: ' + 'v'.repeat(60) + '\r\n',
  'Host:a.example\r\nAccept:  */*  \r\nX-B: b\r\n',
  'Host: a.example\r\nX-Empty: \r\nX-Empty2:\r\nX-C: c\r\n',
  'Host: a.example\nAccept: */*\r\nX-D: d\n',
  'Host: a.example\r\nX-Tab:\tt\r\nX-E: e\t\r\nX-F: f\r\n',
];

test('requests: the received line and fields when canonical, rebuilt otherwise; same bytes either way', () => {
  const lines = ['GET /p?q=1 HTTP/1.1', 'GET  /p HTTP/1.1', 'GET /p  HTTP/1.1', 'GET\t/p HTTP/1.0', 'POST /p HTTP/1.0', 'OPTIONS * HTTP/1.1', 'GET http://a.example/x HTTP/1.1'];
  for (const line of lines) {
    for (const fields of FIELDS) {
      const text = line + '\r\n' + fields + '\r\n';
      const h = request(text);
      assert.equal(h.lineRaw, !/ {2}|\t/.test(line), `lineRaw for ${JSON.stringify(line)}`);
      const want = reference(reqLine(h), h);
      assert.equal(serializeHead(h.lineRaw ? null : reqLine(h), h, null, false).toString('latin1'), want, JSON.stringify(text));
      if (h.lineRaw && fields === FIELDS[0]) assert.equal(want, text, 'a canonical head goes out as it came');
    }
  }
});

test('responses: the status line as received only when statusLine() would write the same', () => {
  const lines: Array<[string, boolean]> = [
    ['HTTP/1.1 200 OK', true], ['HTTP/1.0 404 Not Found', true], ['HTTP/1.1 204 ', true],
    ['HTTP/1.1 200', false], ['HTTP/1.1  200 OK', false], ['HTTP/1.1\t200 OK', false],
  ];
  for (const [line, raw] of lines) {
    for (const fields of FIELDS) {
      const h = response(line + '\r\n' + fields + 'Content-Length: 0\r\n\r\n');
      assert.equal(h.lineRaw, raw, `lineRaw for ${JSON.stringify(line)}`);
      assert.equal(serializeHead(h.lineRaw ? null : resLine(h), h, 'keep-alive', false).toString('latin1'),
        reference(resLine(h), h).replace(/\r\n$/, 'connection: keep-alive\r\n\r\n'));
    }
  }
});

test('rewrites inside a run of received fields break the run where they are', () => {
  for (const fields of FIELDS) {
    const text = 'GET /p HTTP/1.1\r\n' + fields + 'X-G: g\r\nX-H: h\r\n\r\n';
    const edits: Array<(h: RequestHead) => void> = [
      (h) => h.headers.setValueAt(1, 'changed'),
      (h) => h.headers.removeAt(1),
      (h) => h.headers.removeAt(h.headers.count - 1),
      (h) => h.headers.addChecked('X-Added', 'added'),
      (h) => h.headers.setChecked('Accept', 'accept', 'text/plain'),
      (h) => { h.headers.removeAt(0); h.headers.setValueAt(0, 'z'); },
      (h) => h.setTarget('/other'),
      (h) => h.setMethod('PUT'),
    ];
    for (const edit of edits) {
      const h = request(text);
      edit(h);
      const line = reqLine(h);
      assert.equal(h.lineRaw, line === 'GET /p HTTP/1.1');
      assert.equal(serializeHead(h.lineRaw ? null : line, h, null, false).toString('latin1'), reference(line, h), `${edit} on ${JSON.stringify(fields)}`);
    }
  }
});

test('set-status rebuilds the status line', () => {
  const h = response('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  h.setStatus(503, 'Busy');
  assert.equal(h.lineRaw, false);
  assert.equal(serializeHead(resLine(h), h, null, false).toString('latin1'), 'HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n');
});
