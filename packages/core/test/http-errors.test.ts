/*
 * Built-in error pages, `errorfile` parsing and precedence.
 *
 * Every byte string marked "captured" was read from haproxy 2.6.12
 * (/usr/sbin/haproxy) with a raw socket (Python: connect, send, read until
 * close or a 1-3 s idle timeout) against `mode http` frontends:
 *   - per status N: `http-request deny deny_status N`, request
 *     `GET / HTTP/1.1\r\nHost: x\r\n\r\n` (the connection stayed open except
 *     after 400 and 408); the natural 503 (backend without server) and 200
 *     (`monitor-uri`) gave the same bytes as their deny form;
 *   - HTTP/1.0 variants: `GET / HTTP/1.0\r\n\r\n` and the same with
 *     `Connection: keep-alive`;
 *   - early errors: `GARBAGE\x01\r\n\r\n` (400), `GET / HTTP/1.1\r\n` then
 *     silence with `timeout http-request 300ms` (408);
 *   - errorfiles: the files written below, served through `errorfile` +
 *     `http-request deny`; precedence through frontend/backend/defaults
 *     combinations; limits and error texts through `haproxy -c`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load';
import type { ProxyConfig } from '../src/config/compiled';
import {
  ERROR_STATUSES, defaultErrorResponse, defaultErrorReply, validateErrorFile, errorResponseFor, errorReplyFor,
  earlyErrorResponse,
} from '../src/http/errors';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** captured: deny_status N, HTTP/1.1 keep-alive client. */
const CAPTURED: Record<number, string> = {
  200: 'HTTP/1.1 200 OK\r\ncontent-length: 58\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n',
  400: 'HTTP/1.1 400 Bad request\r\ncontent-length: 90\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n',
  401: 'HTTP/1.1 401 Unauthorized\r\ncontent-length: 112\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n',
  403: 'HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n',
  404: 'HTTP/1.1 404 Not Found\r\ncontent-length: 83\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>404 Not Found</h1>\nThe resource could not be found.\n</body></html>\n',
  405: 'HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 146\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>405 Method Not Allowed</h1>\nA request was made of a resource using a request method not supported by that resource\n</body></html>\n',
  407: 'HTTP/1.1 407 Unauthorized\r\ncontent-length: 112\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>407 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n',
  408: "HTTP/1.1 408 Request Time-out\r\ncontent-length: 110\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n",
  410: 'HTTP/1.1 410 Gone\r\ncontent-length: 114\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>410 Gone</h1>\nThe resource is no longer available and will not be available again.\n</body></html>\n',
  413: 'HTTP/1.1 413 Payload Too Large\r\ncontent-length: 106\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>413 Payload Too Large</h1>\nThe request entity exceeds the maximum allowed.\n</body></html>\n',
  421: 'HTTP/1.1 421 Misdirected Request\r\ncontent-length: 104\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>421 Misdirected Request</h1>\nRequest sent to a non-authoritative server.\n</body></html>\n',
  422: 'HTTP/1.1 422 Unprocessable Content\r\ncontent-length: 116\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>422 Unprocessable Content</h1>\nThe server cannot process the contained instructions.\n</body></html>\n',
  425: 'HTTP/1.1 425 Too Early\r\ncontent-length: 80\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>425 Too Early</h1>\nYour browser sent early data.\n</body></html>\n',
  429: 'HTTP/1.1 429 Too Many Requests\r\ncontent-length: 117\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>429 Too Many Requests</h1>\nYou have sent too many requests in a given amount of time.\n</body></html>\n',
  500: 'HTTP/1.1 500 Internal Server Error\r\ncontent-length: 97\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>500 Internal Server Error</h1>\nAn internal server error occurred.\n</body></html>\n',
  501: 'HTTP/1.1 501 Not Implemented\r\ncontent-length: 136\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>501 Not Implemented</h1>\n.The server does not support the functionality required to fulfill the request.\n</body></html>\n',
  502: 'HTTP/1.1 502 Bad Gateway\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n',
  503: 'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n',
  504: "HTTP/1.1 504 Gateway Time-out\r\ncontent-length: 92\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n",
};

/** captured: HTTP/1.0 client, no keep-alive (no-server 503 and deny 503 alike). */
const CAPTURED_503_HTTP10 = 'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n';
/** captured: HTTP/1.0 client with `Connection: keep-alive`. */
const CAPTURED_503_HTTP10_KA = 'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: keep-alive\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n';
/** captured: early errors written by the H1 mux. */
const CAPTURED_EARLY_400 = 'HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n';
const CAPTURED_EARLY_408 = "HTTP/1.1 408 Request Time-out\r\nContent-length: 110\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n";

test('the list of statuses is haproxy 2.6 (421 and 422 included)', () => {
  assert.deepEqual([...ERROR_STATUSES], Object.keys(CAPTURED).map(Number));
  assert.equal(defaultErrorResponse(418), undefined);
  assert.equal(defaultErrorResponse(302), undefined);
});

test('default pages equal the bytes captured from haproxy 2.6.12', () => {
  for (const s of ERROR_STATUSES) {
    assert.equal(defaultErrorResponse(s)!.toString('latin1'), CAPTURED[s], `status ${s}`);
    const r = defaultErrorReply(s)!;
    assert.equal(r.mustClose, s === 400 || s === 408, `mustClose ${s}`);
  }
  // Same Buffer every time: built once at module load.
  assert.equal(defaultErrorResponse(503), defaultErrorResponse(503));
  const r503 = defaultErrorReply(503)!;
  assert.equal(r503.close.toString('latin1'), CAPTURED_503_HTTP10);
  assert.equal(r503.keepAlive10.toString('latin1'), CAPTURED_503_HTTP10_KA);
  // captured: deny 400 to an HTTP/1.0 keep-alive client still closes.
  assert.equal(defaultErrorReply(400)!.keepAlive10.toString('latin1'), CAPTURED[400]);
  assert.equal(defaultErrorReply(400)!.close.toString('latin1'), CAPTURED[400]);
});

test('early (mux) errors are the raw built-in text', () => {
  const fe = { errorFiles: {} } as unknown as ProxyConfig;
  assert.equal(earlyErrorResponse(fe, 400)!.toString('latin1'), CAPTURED_EARLY_400);
  assert.equal(earlyErrorResponse(fe, 408)!.toString('latin1'), CAPTURED_EARLY_408);
  // captured: a custom `errorfile 400` is not used for a garbage request …
  const custom = { errorFiles: { 400: norm('HTTP/1.1 400 Mine\r\nContent-Length: 4\r\n\r\nbad\n') } } as unknown as ProxyConfig;
  assert.equal(earlyErrorResponse(custom, 400)!.toString('latin1'), CAPTURED_EARLY_400);
  // … but `errorfile 408 /dev/null` sends nothing (captured: b'').
  const empty = { errorFiles: { 408: '' } } as unknown as ProxyConfig;
  assert.equal(earlyErrorResponse(empty, 408)!.length, 0);
});

function norm(text: string): string {
  const v = validateErrorFile(b(text));
  assert.ok(v.ok, v.ok ? '' : v.reason);
  return v.bytes.toString('latin1');
}

function reject(text: string): string {
  const v = validateErrorFile(b(text));
  assert.ok(!v.ok, `accepted: ${JSON.stringify(text)}`);
  return v.reason;
}

test('errorfile pages are normalised as the H1 mux sends them', () => {
  // captured: lower-case names, trimmed values, reason kept verbatim,
  // Connection dropped, no Connection header for an HTTP/1.0 page.
  assert.equal(
    norm('HTTP/1.0 503 Custom  Reason\r\nX-Foo:   bar  \r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n'),
    'HTTP/1.0 503 Custom  Reason\r\nx-foo: bar\r\ncontent-type: text/plain\r\ncontent-length: 6\r\n\r\nhello\n');
  // captured: no length → body to close, `connection: close` appended.
  assert.equal(norm('HTTP/1.1 404 NoLen\r\nX-A: 1\r\n\r\nbody-without-length\n'), 'HTTP/1.1 404 NoLen\r\nx-a: 1\r\nconnection: close\r\n\r\nbody-without-length\n');
  // captured: empty reason, and LF-only line endings.
  assert.equal(norm('HTTP/1.1 503\r\nContent-Length: 3\r\n\r\nabc'), 'HTTP/1.1 503 \r\ncontent-length: 3\r\n\r\nabc');
  assert.equal(norm('HTTP/1.1 503 X\nContent-Length: 3\n\nabc'), 'HTTP/1.1 503 X\r\ncontent-length: 3\r\n\r\nabc');
  // Any status is allowed in the file, even one unrelated to the code (captured: 503 file for 403 is sent as 503).
  assert.equal(norm('HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n'), 'HTTP/1.1 302 Found\r\nlocation: /x\r\ncontent-length: 0\r\n\r\n');
  assert.equal(validateErrorFile(b('')).ok, true);
});

test('errorfile reply variants follow the client connection mode', () => {
  const fe = { errorFiles: { 403: norm('HTTP/1.1 403 Nope\r\nContent-Length: 3\r\n\r\nno\n') } } as unknown as ProxyConfig;
  const r = errorReplyFor(fe, null, 403)!;
  assert.equal(r.keepAlive.toString('latin1'), 'HTTP/1.1 403 Nope\r\ncontent-length: 3\r\n\r\nno\n');
  // captured: request with `Connection: close`.
  assert.equal(r.close.toString('latin1'), 'HTTP/1.1 403 Nope\r\ncontent-length: 3\r\nconnection: close\r\n\r\nno\n');
  assert.equal(r.mustClose, false);
  // captured: HTTP/1.0 page, HTTP/1.1 and HTTP/1.0 keep-alive clients: same bytes.
  const fe10 = { errorFiles: { 503: norm('HTTP/1.0 503 X\r\nContent-Length: 1\r\n\r\nx') } } as unknown as ProxyConfig;
  const r10 = errorReplyFor(fe10, null, 503)!;
  assert.equal(r10.mustClose, true);
  assert.equal(r10.keepAlive10.toString('latin1'), 'HTTP/1.0 503 X\r\ncontent-length: 1\r\n\r\nx');
  assert.equal(r10.close, r10.keepAlive);
});

test('invalid errorfile contents are refused with HAProxy reasons', () => {
  assert.match(reject('hello world\n'), /unable to parse headers/);
  assert.match(reject('HTTP/1.1 503 X\r\nContent-Length: 3\r\n'), /unable to parse headers \(incomplete head/);
  assert.equal(reject('HTTP/1.1 100 Continue\r\n\r\n'), 'invalid http status code for an error message (100)');
  assert.equal(reject('HTTP/1.1 103 Early\r\n\r\n'), 'invalid http status code for an error message (103)');
  assert.equal(validateErrorFile(b('HTTP/1.1 101 Sw\r\n\r\n')).ok, true); // haproxy lets 101 through
  assert.equal(reject('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), 'chunk-encoded payload not supported');
  assert.equal(reject('HTTP/1.1 204 NC\r\n\r\nbody'), 'message payload not expected');
  assert.equal(reject('HTTP/1.1 503 X\r\nContent-Length: 0\r\n\r\nabc'), 'message payload not expected');
  assert.equal(reject('HTTP/1.1 503 X\r\nContent-Length: 10\r\n\r\nabc'), 'payload size does not match the announced content-length (3 != 10)');
});

/** Builds a file of exactly `total` bytes around `head` (with a %05d length). */
function sized(head: string, total: number): Buffer {
  const hl = head.replace('%05d', '00000').length;
  const bl = total - hl;
  return Buffer.concat([b(head.replace('%05d', String(bl).padStart(5, '0'))), Buffer.alloc(bl, 0x61)]);
}

test('size limit: what fits one 16384-byte HTX buffer (haproxy -c, binary search)', () => {
  // Largest accepted files, two shapes, found by bisection against haproxy -c.
  const h1 = 'HTTP/1.1 503 X\r\nContent-Length: %05d\r\n\r\n';
  assert.equal(validateErrorFile(sized(h1, 16293)).ok, true);
  assert.match(reject(sized(h1, 16294).toString('latin1')), /unable to add payload into the HTX message/);
  const h2 = 'HTTP/1.0 503 Service Gone Away\r\nX-Aaa: bbbbbbbb\r\nContent-Type: text/html\r\nContent-Length: %05d\r\n\r\n';
  assert.equal(validateErrorFile(sized(h2, 16285)).ok, true);
  assert.match(reject(sized(h2, 16286).toString('latin1')), /unable to add payload/);
  // haproxy: "larger than 16384 bytes. Truncating." then a parse error.
  assert.match(reject(sized(h1, 16385).toString('latin1')), /larger than 16384 bytes/);
});

/* ---------------- through the configuration parser ---------------- */

const dir = mkdtempSync(join(tmpdir(), 'sy-errfile-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

async function load(text: string) {
  const cfg = file(`c${Math.random().toString(36).slice(2)}.cfg`, text);
  const r = await loadConfig([cfg], {});
  const errors = r.diag.items.filter(d => d.severity === 'alert').map(d => `${d.line}: ${d.keyword}: ${d.reason}`);
  return { config: r.config, errors };
}

const FE503 = file('fe503.http', 'HTTP/1.1 503 FromFE\r\nContent-Length: 3\r\n\r\nfe\n');
const FE502 = file('fe502.http', 'HTTP/1.1 502 FromFE\r\nContent-Length: 3\r\n\r\nfe\n');
const BE502 = file('be502.http', 'HTTP/1.1 502 FromBE\r\nContent-Length: 3\r\n\r\nbe\n');
const DEF502 = file('def502.http', 'HTTP/1.1 502 FromDEF\r\nContent-Length: 4\r\n\r\ndef\n');

const HEAD = 'defaults\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n';

test('errorfile is parsed in every proxy section, also in mode tcp (as haproxy)', async () => {
  const { config, errors } = await load(HEAD + `frontend f\n  bind 127.0.0.1:47101\n  errorfile 503 ${FE503}\n  errorfile 408 /dev/null\n  default_backend b\nbackend b\n  errorfile 502 ${BE502}\nlisten l\n  bind 127.0.0.1:47102\n  errorfile 504 ${BE502}\n`);
  assert.deepEqual(errors, []);
  const [f, bk, l] = config!.proxies;
  assert.equal(f.errorFiles![503], 'HTTP/1.1 503 FromFE\r\ncontent-length: 3\r\n\r\nfe\n');
  assert.equal(f.errorFiles![408], '');
  assert.deepEqual(Object.keys(bk.errorFiles!), ['502']);
  assert.deepEqual(Object.keys(l.errorFiles!), ['504']);
  // /dev/null: nothing is sent (captured: b'' and the connection closed).
  const r = errorReplyFor(f, bk, 408)!;
  assert.equal(r.empty, true);
  assert.equal(errorResponseFor(f, bk, 408)!.length, 0);
});

test('errorfile errors name the file and the reason', async () => {
  const bad = file('bad.http', 'not http\n');
  const big = file('big.http', sized('HTTP/1.1 503 X\r\nContent-Length: %05d\r\n\r\n', 16385));
  const { errors } = await load(HEAD + [
    'frontend f', '  bind 127.0.0.1:47103',
    `  errorfile 503 ${join(dir, 'missing.http')}`,
    `  errorfile 503 ${bad}`,
    `  errorfile 503 ${big}`,
    `  errorfile 418 ${FE503}`,
    `  errorfile abc ${FE503}`,
    '  errorfile 503',
    `  errorfile 503 ${FE503} extra`,
    `  errorfile 503 ${dir}`,
  ].join('\n') + '\n');
  assert.equal(errors.length, 8, errors.join('\n'));
  assert.match(errors[0], new RegExp(`^7: errorfile: error opening file '${join(dir, 'missing.http')}': ENOENT$`));
  assert.match(errors[1], new RegExp(`^8: errorfile: '${bad}': unable to parse headers`));
  assert.match(errors[2], new RegExp(`^9: errorfile: '${big}': file larger than 16384 bytes`));
  assert.match(errors[3], /^10: errorfile: status code '418' not handled \(supported: 200, 400,/);
  assert.match(errors[4], /^11: errorfile: status code 'abc' not handled/);
  assert.match(errors[5], /^12: errorfile: expects <status_code> and <file> as arguments/);
  assert.match(errors[6], /^13: errorfile: unexpected argument 'extra'/);
  assert.match(errors[7], /^14: errorfile: error reading file '.*': is a directory/);
});

test('precedence: backend, then frontend, then the built-in page (verified with haproxy 2.6.12)', async () => {
  const { config, errors } = await load(`defaults d2\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n  errorfile 502 ${DEF502}\n` +
    HEAD +
    `frontend f3\n  bind 127.0.0.1:47104\n  errorfile 502 ${FE502}\n  errorfile 503 ${FE503}\n  default_backend b3\n` +
    `backend b3\n  errorfile 502 ${BE502}\n` +
    `frontend f4 from d2\n  bind 127.0.0.1:47105\n  errorfile 502 ${FE502}\n  default_backend b4\n` +
    `backend b4 from d2\n` +
    `frontend f5 from d2\n  bind 127.0.0.1:47106\n  errorfile 502 ${FE502}\n  errorfile 502 ${BE502}\n  default_backend b3\n`);
  assert.deepEqual(errors, []);
  const px = (n: string): ProxyConfig => config!.proxies.find(p => p.name === n)!;
  const body = (buf: Buffer | undefined) => buf!.toString('latin1').split('\r\n\r\n')[1];
  // Round trip through msgpack-safe data: the worker only has plain objects.
  const f3 = px('f3'), b3 = px('b3'), f4 = px('f4'), b4 = px('b4'), f5 = px('f5');
  assert.equal(body(errorResponseFor(f3, b3, 502)), 'be\n');        // backend's own page
  assert.equal(body(errorResponseFor(f3, null, 502)), 'fe\n');      // no backend yet: frontend's
  assert.equal(body(errorResponseFor(f3, b3, 503)), 'fe\n');        // backend has none for 503
  assert.equal(body(errorResponseFor(f4, b4, 502)), 'def\n');       // backend's inherited page beats the frontend's explicit one
  assert.equal(body(errorResponseFor(f5, null, 502)), 'be\n');      // a later errorfile replaces an earlier/inherited one
  assert.equal(errorResponseFor(f3, b3, 504), defaultErrorResponse(504)); // built-in
  assert.equal(errorResponseFor(f3, b3, 418), undefined);
  // Decoded once per proxy.
  assert.equal(errorResponseFor(f3, b3, 502), errorResponseFor(f3, b3, 502));
  // A listen section is its own frontend and backend.
  assert.equal(body(errorResponseFor(b3, b3, 502)), 'be\n');
});
