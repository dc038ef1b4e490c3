/**
 * Rule log-formats (rules/rule-format.ts): the literal-and-sample fast path
 * must render exactly what renderLogFormat() renders for the same compiled
 * format, and fieldValue() must refuse exactly what isValidHeaderValue()
 * refuses in that text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../src/rules/fetches';
import '../src/rules/converters';
import '../src/http/fetches';
import { compileRuleFormat, RuleFormat } from '../src/rules/rule-format';
import { renderLogFormat, EMPTY_LOG_RECORD, type LogRecord } from '../src/log/log-format';
import { AT_HTTP_REQ, type CompileEnv } from '../src/rules/sample';
import type { RuleHost } from '../src/rules/rule-set';
import { isValidHeaderValue } from '../src/http/headers';
import { newProxyConfig } from '../src/proxy/sections';
import { parseRequestHead } from '../src/http/h1';
import type { ProxyRuntime } from '../src/engine/proxy-runtime';

const proxy = Object.assign(newProxyConfig('fe', 't', 1), { mode: 'http' as const });
const env: CompileEnv = { proxy, proxies: [proxy], file: () => undefined, at: AT_HTTP_REQ, where: 'http-request' };

const RECORD = { ...EMPTY_LOG_RECORD, clientIp: '192.0.2.7', clientPort: 40000, frontend: 'fe' } as LogRecord;

function host(raw: string): RuleHost {
  const r = parseRequestHead(Buffer.from(raw, 'latin1'));
  if (r.state !== 'done') throw new Error('request not parsed');
  return {
    fe: { cfg: proxy } as unknown as ProxyRuntime, be: null, srv: null, engine: { actconn: 0, proxies: [] },
    srcIp: () => '192.0.2.7', srcPort: () => 40000, dstIp: () => '127.0.0.1', dstPort: () => 80,
    reqPayload: () => null, resPayload: () => null, reqFinal: true, tlsView: () => null,
    httpReq: r.head, httpRes: null, reqBody: () => null, status: -1,
    vars: { sess: null, txn: null, req: null, res: null }, reply: null, logRecord: () => RECORD,
  };
}

function fmt(text: string): RuleFormat {
  const f = compileRuleFormat(text, env);
  if (typeof f === 'string') throw new Error(`${text}: ${f}`);
  return f;
}

// Samples with what rule mode escapes (control characters, from the config:
// the parser refuses them in fields), what it keeps (HTAB, latin1), what no
// field value may hold (a non-latin1 character from the config), missing
// samples and non-string types.
const REQ = 'GET /p/a?q=1 HTTP/1.1\r\nHost: Ex.example:81\r\nX-Ctl: a\tb\xe9\r\nX-Two: 1, 2\r\n\r\n';
const FORMATS = [
  'static', '', 'a b  c', '%[path]', '/v2%[path]?%[query]', '%[req.hdr(host),lower]', '<%[req.hdr(x-ctl)]>',
  '%[req.fhdr(x-two)]', '%[req.hdr(missing)]', 'x%[req.hdr(missing)]y', '%[src]', '%[src_port]', '%[int(-12)]',
  '%[bool(1)]', '%[str(a\x00b\rc\nd)]', '%[str(\u20ac)]', 'lit\u20ac%[path]', 'cr\r\nlf', '%%%[path]%%',
  '%[method]', '%[url_param(q)]', '%[req.hdr(x-ctl),hex]', '%[path,regsub(/,-,g)]',
  // Not literal-and-sample: the log line renderer renders them.
  '%ci:%cp %[path]', '%{+Q}[path]', '%f',
];

test('the literal-and-sample path renders what renderLogFormat() renders', () => {
  const h = host(REQ);
  for (const text of FORMATS) {
    const f = fmt(text);
    const expected = renderLogFormat(f.f, f.f.needsRecord === true ? RECORD : EMPTY_LOG_RECORD, h);
    assert.equal(f.render(h), expected, JSON.stringify(text));
    assert.equal(f.fieldValue(h), isValidHeaderValue(expected) ? expected : null, `fieldValue of ${JSON.stringify(text)}`);
  }
});

test('fieldValue() refuses CR, LF, NUL and non-latin1 text, from literals or samples', () => {
  const h = host(REQ);
  assert.equal(fmt('%[str(\u20ac)]').fieldValue(h), null);
  assert.equal(fmt('lit\u20ac').fieldValue(h), null);
  assert.equal(fmt('cr\rx').fieldValue(h), null);
  // Control characters of samples are escaped, so the value is valid.
  assert.equal(fmt('%[str(a\rb)]').fieldValue(h), 'a%0Db');
  assert.equal(fmt('<%[req.hdr(x-ctl)]>').fieldValue(h), '<a\tb\xe9>');
  assert.equal(fmt('%[str(a\x01b\x7fc\x08)]').fieldValue(h), 'a%01b%7Fc%08');
  // A later valid render after an invalid one is not poisoned.
  assert.equal(fmt('%[path]').fieldValue(h), '/p/a');
  assert.equal(fmt('static').isConstant, true);
  assert.equal(fmt('%[path]').isConstant, false);
});
