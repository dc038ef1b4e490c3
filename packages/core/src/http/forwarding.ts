/**
 * `option forwardfor [except <network>] [header <name>] [if-none]` and
 * `option originalto [except <network>] [header <name>]`
 * (configuration.txt 4.2): the client's address appended to the request as
 * X-Forwarded-For, the address it connected to as X-Original-To.
 *
 * Either may be set in the frontend and/or the backend, and HAProxy 2.6
 * combines them (http_process_request, steps 9 and 10):
 *   - the header is added when at least one of them has the option;
 *   - its name is the backend's when the backend has the option, else the
 *     frontend's ("the header is really meant for the backends");
 *   - `if-none` only holds when every side that has the option says so
 *     (one side wanting it mandatory wins);
 *   - an `except` network of either side suppresses the header;
 *   - only for IPv4 and IPv6 connections (not UNIX sockets); the value is the
 *     address as inet_ntop() prints it.
 * Each `option` line resets the proxy's header name, except network and
 * if-none (cfgparse-listen.c); a proxy inherits all three from defaults.
 */
import { registerKeywords, PROXY_SECTIONS, type KeywordContext, type ParseState } from '../registry';
import type { ForwardHeaderConfig, NetworkConfig, ProxyConfig } from '../config/compiled';
import { isValidHeaderName, type HeaderList } from './headers';
import { parseNetwork, inNetwork } from '../util/ip-net';

const XFF = 'X-Forwarded-For';
const XOT = 'X-Original-To';

/** One proxy's option, ready for the request path. */
export class ForwardHeader {
  readonly header: string;
  readonly except: NetworkConfig | null;
  readonly ifNone: boolean;
  constructor(cfg: ForwardHeaderConfig) {
    this.header = cfg.header;
    this.except = cfg.except;
    this.ifNone = cfg.ifNone;
  }
}

export function forwardHeader(cfg: ForwardHeaderConfig | null): ForwardHeader | null {
  return cfg === null ? null : new ForwardHeader(cfg);
}

/** An IPv4/IPv6 address text (peerAddress() gives 'unix' for other sockets). */
function isInet(addr: string): boolean {
  return addr.indexOf('.') >= 0 || addr.indexOf(':') >= 0;
}

function excepted(o: ForwardHeader | null, addr: string): boolean {
  return o !== null && o.except !== null && inNetwork(addr, o.except);
}

/** `option forwardfor` of the frontend `fe` and backend `be` (either may be null): add the header for `src`. */
export function addForwardedFor(fe: ForwardHeader | null, be: ForwardHeader | null, headers: HeaderList, src: string): void {
  if (fe === null && be === null) return;
  const name = be !== null ? be.header : fe!.header;
  const always = (fe !== null && !fe.ifNone) || (be !== null && !be.ifNone);
  if (!always && headers.has(name)) return;
  if (!isInet(src) || excepted(fe, src) || excepted(be, src)) return;
  headers.add(name, src);
}

/** `option originalto`: add the header for the destination address `dst`. */
export function addOriginalTo(fe: ForwardHeader | null, be: ForwardHeader | null, headers: HeaderList, dst: string): void {
  if (fe === null && be === null) return;
  const name = be !== null ? be.header : fe!.header;
  if (!isInet(dst) || excepted(fe, dst) || excepted(be, dst)) return;
  headers.add(name, dst);
}

/* ---------------- keywords ---------------- */

function parseOption(ctx: KeywordContext, word: 'forwardfor' | 'originalto'): void {
  const o: ForwardHeaderConfig = { header: word === 'forwardfor' ? XFF : XOT, except: null, ifNone: false };
  const args = ctx.args;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === 'except') {
      const net = args[i + 1] !== undefined ? parseNetwork(args[i + 1]) : undefined;
      if (net === undefined) return ctx.error(`'option ${word} except' expects <address>[/mask] as argument.`);
      o.except = net;
      i++;
    } else if (a === 'header') {
      const name = args[i + 1];
      if (name === undefined || name === '') return ctx.error(`'option ${word} header' expects <header_name> as argument.`);
      if (!isValidHeaderName(name)) return ctx.error(`'option ${word} header' : invalid header name '${name}' (letters, digits and !#$%&'*+-.^_\`|~ only)`);
      o.header = name;
      i++;
    } else if (a === 'if-none' && word === 'forwardfor') {
      o.ifNone = true;
    } else {
      return ctx.error(word === 'forwardfor'
        ? `'option forwardfor' only supports optional values: 'except', 'header' and 'if-none'.`
        : `'option originalto' only supports optional values: 'except' and 'header'.`);
    }
  }
  if (word === 'forwardfor') ctx.proxy!.forwardFor = o; else ctx.proxy!.originalTo = o;
}

/** HAProxy (cfgparse.c check_config_validity): both options need `mode http`. */
export function finalizeForwarding(state: ParseState): void {
  for (const p of state.proxies) {
    if (p.mode === 'http' || p.disabled) continue;
    if (p.forwardFor !== null) { warnTcp(state, p, 'forwardfor'); p.forwardFor = null; }
    if (p.originalTo !== null) { warnTcp(state, p, 'originalto'); p.originalTo = null; }
  }
}

function warnTcp(state: ParseState, p: ProxyConfig, word: string): void {
  const kind = p.cap.fe && p.cap.be ? 'listen' : p.cap.fe ? 'frontend' : 'backend';
  state.diag.warn(p.file, p.line, '', `'option ${word}' ignored for ${kind} '${p.name}' as it requires HTTP mode.`);
}

registerKeywords([
  {
    name: 'option forwardfor',
    sections: PROXY_SECTIONS,
    usage: 'option forwardfor [except <network>] [header <name>] [if-none]  append the client address to X-Forwarded-For (or <name>) toward the server',
    parse: ctx => parseOption(ctx, 'forwardfor'),
  },
  {
    name: 'option originalto',
    sections: PROXY_SECTIONS,
    usage: 'option originalto [except <network>] [header <name>]  add X-Original-To (or <name>) with the address the client connected to',
    parse: ctx => parseOption(ctx, 'originalto'),
  },
]);
