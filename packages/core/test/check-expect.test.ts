/*
 * tcp-check / http-check expect evaluation (checks/expect.ts) with
 * tcpcheck.c's results and messages, the agent's reply (checks/agent.ts)
 * and the master's rebuild of consecutive observed errors
 * (checks/observe.ts applyObserved).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpect } from '../src/checks/keywords';
import {
  compileExpect, evalHttpExpect, evalTcpExpect, successOf, EVAL_CONTINUE, EVAL_STOP, EVAL_WAIT,
  type ExpectResult, type HttpCheckResponse,
} from '../src/checks/expect';
import { parseAgentReply, agentResult } from '../src/checks/agent';
import { applyObserved } from '../src/checks/observe';
import {
  HCHK_CHECKED, HCHK_L4OK, HCHK_L6OK, HCHK_L7OKCD, HCHK_L7OKD, HCHK_L7RSP, HCHK_L7STS, type ExpectRule,
} from '../src/checks/types';

function expect(words: string, http: boolean, index = 1): ExpectRule {
  const r = parseExpect(words.split(' '), http);
  if (typeof r === 'string') throw new Error(r);
  r.index = index;
  return r;
}

function tcp(words: string, data: string, lastRead = false, index = 1): ExpectResult {
  return evalTcpExpect('tcp-check', compileExpect(expect(words, false, index)), Buffer.from(data, 'latin1'), lastRead);
}

const CONTINUE = { ret: EVAL_CONTINUE, status: 0, desc: '' };
const WAIT = { ret: EVAL_WAIT, status: 0, desc: '' };

test('tcp-check expect string: waits for enough bytes, matches anywhere, fails with the step', () => {
  assert.deepEqual(tcp('string +OK', '+O'), WAIT);
  assert.deepEqual(tcp('string +OK', 'hello +OK ready'), CONTINUE);
  // A mismatch waits for more unless the connection is done or min-recv says enough was read.
  assert.deepEqual(tcp('string +OK', '-ERR x'), WAIT);
  assert.deepEqual(tcp('string +OK', '-ERR x', true, 2), { ret: EVAL_STOP, status: HCHK_L7RSP, desc: "TCPCHK did not match content '+OK' at step 3" });
  assert.deepEqual(tcp('min-recv 3 string +OK', '-ERR x'), { ret: EVAL_STOP, status: HCHK_L7RSP, desc: "TCPCHK did not match content '+OK' at step 2" });
  assert.deepEqual(tcp('min-recv 10 string +OK', '+OK'), WAIT);
});

test('tcp-check expect: inverted, binary, regexes, error-status and comments', () => {
  assert.deepEqual(tcp('! string -ERR', '+OK', true), CONTINUE);
  assert.deepEqual(tcp('! string -ERR', '-ERR', true), { ret: EVAL_STOP, status: HCHK_L7RSP, desc: "TCPCHK matched unwanted content '-ERR' at step 2" });
  assert.deepEqual(tcp('binary 0a0b', 'x\n\x0by'), CONTINUE);
  assert.deepEqual(tcp('binary 0a0b', 'xy', true), { ret: EVAL_STOP, status: HCHK_L7RSP, desc: 'TCPCHK did not match content (binary) at step 2' });
  assert.deepEqual(tcp('rstring ^\\+PONG', '+PONG\r\n'), CONTINUE);
  assert.deepEqual(tcp('rstring ^\\+PONG', 'x+PONG', true), { ret: EVAL_STOP, status: HCHK_L7RSP, desc: 'TCPCHK did not match content (regex) at step 2' });
  // rbinary matches the upper-case hexadecimal dump.
  assert.deepEqual(tcp('rbinary ^0A0B', '\n\x0b'), CONTINUE);
  assert.deepEqual(tcp('string OK error-status L7STS comment banner', 'NO', true),
    { ret: EVAL_STOP, status: HCHK_L7STS, desc: "TCPCHK did not match content 'OK' at step 2 comment: banner" });
  assert.deepEqual(tcp('string OK on-error nope', 'NO', true), { ret: EVAL_STOP, status: HCHK_L7RSP, desc: 'nope' });
  // Outside `option tcp-check` (e.g. a protocol check), the generic text is not produced.
  assert.deepEqual(evalTcpExpect('agent', compileExpect(expect('string OK', false)), Buffer.from('NO'), true), { ret: EVAL_STOP, status: HCHK_L7RSP, desc: '' });
});

function resp(status: number, reason: string, body = '', complete = true, headers: Array<[string, string]> = []): HttpCheckResponse {
  return { status, reason, headers, body: Buffer.from(body, 'latin1'), complete };
}

function http(words: string, r: HttpCheckResponse | null, lastRead = false, disable404 = false): ExpectResult {
  return evalHttpExpect(compileExpect(expect(words, true)), r, lastRead, disable404);
}

test('http-check expect status and rstatus: the reason phrase is the info text', () => {
  assert.deepEqual(http('status 200-399', null), WAIT);
  assert.deepEqual(http('status 200-399', null, true), { ret: EVAL_STOP, status: HCHK_L7RSP, desc: '' });
  assert.deepEqual(http('status 200-399', resp(302, 'Found')), CONTINUE);
  assert.deepEqual(http('status 200-399', resp(500, 'Internal Server Error')), { ret: EVAL_STOP, status: HCHK_L7STS, desc: 'Internal Server Error' });
  assert.deepEqual(http('status 200,204', resp(204, 'No Content')), CONTINUE);
  assert.deepEqual(http('! status 503', resp(503, 'Service Unavailable')), { ret: EVAL_STOP, status: HCHK_L7STS, desc: 'Service Unavailable' });
  assert.deepEqual(http('rstatus ^2', resp(201, 'Created')), CONTINUE);
  assert.deepEqual(http('status 200 error-status L7RSP', resp(404, 'Not Found')), { ret: EVAL_STOP, status: HCHK_L7RSP, desc: 'Not Found' });
  // disable-on-404 on a server that is not down: the 404 passes (the check ends L7OKC).
  assert.deepEqual(http('status 200', resp(404, 'Not Found'), false, true), CONTINUE);
});

test('http-check expect string: the body, waited for until complete', () => {
  assert.deepEqual(http('string ready', resp(200, 'OK', 'rea', false)), WAIT);
  assert.deepEqual(http('string ready', resp(200, 'OK', 'not yet', false)), WAIT);
  assert.deepEqual(http('string ready', resp(200, 'OK', 'state: ready')), CONTINUE);
  assert.deepEqual(http('string ready', resp(200, 'OK', 'state: busy')), { ret: EVAL_STOP, status: HCHK_L7RSP, desc: 'HTTP content check did not match' });
  assert.deepEqual(http('! string busy', resp(200, 'OK', 'state: busy')), { ret: EVAL_STOP, status: HCHK_L7RSP, desc: 'HTTP check matched unwanted content' });
  assert.deepEqual(http('string ready', resp(200, 'OK', '')), { ret: EVAL_STOP, status: HCHK_L7RSP, desc: 'HTTP content check could not find a response body' });
  assert.deepEqual(http('rstring "up":\\s*true', resp(200, 'OK', '{"up": true}')), CONTINUE);
});

test('http-check expect hdr / fhdr: name and value matching methods', () => {
  const r = resp(200, 'OK', '', true, [['X-State', 'warm, ready'], ['Cache-Control', 'no-cache, private']]);
  assert.deepEqual(http('hdr name x-state', r), CONTINUE);
  assert.deepEqual(http('hdr name x-state value ready', r), CONTINUE);
  assert.deepEqual(http('fhdr name x-state value ready', r), { ret: EVAL_STOP, status: HCHK_L7STS, desc: 'OK' });
  assert.deepEqual(http('fhdr name x-state value -m end ready', r), CONTINUE);
  assert.deepEqual(http('hdr name -m beg cache value -m sub priv', r), CONTINUE);
  assert.deepEqual(http('hdr name -m reg ^X-ST value -m reg ^warm$', r), CONTINUE);
  assert.deepEqual(http('hdr name x-other', r), { ret: EVAL_STOP, status: HCHK_L7STS, desc: 'OK' });
});

test('a ruleset run to its end: L4OK / L6OK for a connect, L7OK for an expect, L7OKC on a 404 with disable-on-404', () => {
  assert.deepEqual(successOf('default', { t: 'connect', implicit: true }, false, 0, false), { status: HCHK_L4OK, desc: '' });
  assert.deepEqual(successOf('tcp-check', { t: 'connect', implicit: false }, true, 0, false), { status: HCHK_L6OK, desc: '(tcp-check)' });
  assert.deepEqual(successOf('tcp-check', expect('string x', false), false, 0, false), { status: HCHK_L7OKD, desc: '(tcp-check)' });
  assert.deepEqual(successOf('http', expect('status 200', true), false, 200, false), { status: HCHK_L7OKD, desc: '' });
  assert.deepEqual(successOf('http', expect('status 200', true), false, 404, true), { status: HCHK_L7OKCD, desc: '' });
  assert.deepEqual(successOf('http', expect('status 200 ok-status L7OKC', true), false, 200, false), { status: HCHK_L7OKCD, desc: '' });
});

test('agent replies: words in any order, the last of a kind wins, a line is needed', () => {
  assert.equal(parseAgentReply('up 75%'), null);
  assert.deepEqual(parseAgentReply('up 75%\n'), { health: 'up', admin: null, weight: '75%', maxconn: null, error: null, description: '' });
  assert.deepEqual(parseAgentReply('DRAIN,50%\tmaxconn:30 ready\r\nignored'), { health: null, admin: 'ready', weight: '50%', maxconn: '30', error: null, description: '' });
  assert.deepEqual(parseAgentReply('down #disk full\n'), { health: 'down', admin: null, weight: null, maxconn: null, error: null, description: 'disk full' });
  // '#' only starts a description at the start of a word.
  assert.deepEqual(parseAgentReply('down#x\n'), { health: null, admin: null, weight: null, maxconn: null, error: 'down#x', description: '' });
  assert.deepEqual(agentResult(parseAgentReply('down #disk full\n')!, null), { status: HCHK_L7STS, desc: 'via agent : down (disk full)' });
  assert.deepEqual(agentResult(parseAgentReply('up\n')!, null), { status: HCHK_L7OKD, desc: 'via agent : up' });
  assert.deepEqual(agentResult(parseAgentReply('up foo\n')!, null), { status: HCHK_L7OKD, desc: 'via agent : up (foo)' });
  assert.deepEqual(agentResult(parseAgentReply('stopped\n')!, null), { status: HCHK_L7STS, desc: 'via agent : stopped' });
  assert.deepEqual(agentResult(parseAgentReply('50%\n')!, null), { status: HCHK_CHECKED, desc: '' });
  assert.deepEqual(agentResult(parseAgentReply('7x%\n')!, 'Trailing garbage in weight string'), { status: HCHK_CHECKED, desc: 'agent warns : Trailing garbage in weight string' });
  assert.deepEqual(agentResult(parseAgentReply('hello\n')!, null), { status: HCHK_CHECKED, desc: 'agent reports an error : hello' });
});

test('observed errors: consecutive across batches, reset by a success, whole runs in between count', () => {
  // 4 errors then 3 more: the 5th reaches the limit, 2 left.
  assert.deepEqual(applyObserved(4, 5, 3, 0, 0, 0), { consecutive: 2, triggers: 1 });
  // Errors, a success, errors: only the tail counts afterwards.
  assert.deepEqual(applyObserved(2, 5, 1, 1, 4, 0), { consecutive: 4, triggers: 0 });
  // A run of 12 seen between two successes by the worker, with limit 5: counted by the worker as 2.
  assert.deepEqual(applyObserved(0, 5, 0, 2, 0, 2), { consecutive: 0, triggers: 2 });
  assert.deepEqual(applyObserved(0, 10, 25, 0, 0, 0), { consecutive: 5, triggers: 2 });
});
