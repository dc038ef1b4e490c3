/**
 * The sample fetches that do not belong to HTTP: constants and internal
 * state (sample.c, backend.c, frontend.c), the client connection's
 * addresses (tcp_sample.c), request payload and the TLS ClientHello read
 * without decrypting it (payload.c), and the terminated TLS connection
 * (ssl_sample.c). HTTP fetches live in http/fetches.ts.
 */
import { randomInt } from 'node:crypto';
import {
  type Sample, type SampleContext, type ArgValue,
  registerFetches, findFetch, F_MAY_CHANGE,
  T_BOOL, T_SINT, T_IPV4, T_IPV6, T_STR, T_BIN, T_METH, T_ADDR,
  USE_INTERNAL, USE_L4CLI, USE_L5CLI, USE_L6REQ, USE_L6RES, USE_BACKEND,
} from './sample';
import { registerAclKeywords } from './acl';
import { parseClientHello, sslHelloType, reqSslVer, alpnProtocols, TLS_NEED_MORE, TLS_NO_MATCH, type ClientHello } from '../tls/client-hello';
import type { ProxyRuntime } from '../engine/proxy-runtime';
import { parseIpInto } from '../util/ip-net';

/* ---------------- constants and internal state ---------------- */

function proxyArg(ctx: SampleContext, args: readonly ArgValue[], be: boolean): ProxyRuntime | null {
  const name = args[0];
  if (typeof name !== 'string') return be ? ctx.be : ctx.fe;
  for (const p of ctx.engine.proxies) if (p.cfg.name === name && (be ? p.cfg.cap.be : p.cfg.cap.fe)) return p;
  return null;
}

const ipScratch = new Uint8Array(16);

registerFetches([
  { name: 'always_true', out: T_BOOL, use: USE_INTERNAL, fetch: (smp) => smp.setBool(true) },
  { name: 'always_false', out: T_BOOL, use: USE_INTERNAL, fetch: (smp) => smp.setBool(false) },
  {
    name: 'bool', out: T_BOOL, use: USE_INTERNAL, args: [{ kind: 'str' }],
    check(args) {
      const v = String(args[0]).toLowerCase();
      if (v === 'true' || v === '1') args[0] = 1;
      else if (v === 'false' || v === '0') args[0] = 0;
      else return `'${args[0]}' is not a boolean (true/false/1/0)`;
    },
    fetch: (smp, _c, args) => smp.setBool(args[0] === 1),
  },
  { name: 'int', out: T_SINT, use: USE_INTERNAL, args: [{ kind: 'sint' }], fetch: (smp, _c, args) => smp.setInt(args[0] as number) },
  { name: 'str', out: T_STR, use: USE_INTERNAL, args: [{ kind: 'str' }], fetch: (smp, _c, args) => smp.setStr(args[0] as string) },
  {
    name: 'bin', out: T_BIN, use: USE_INTERNAL, args: [{ kind: 'str' }],
    check(args) {
      const h = String(args[0]);
      if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) return `invalid hexadecimal string '${h}'`;
      args[0] = Buffer.from(h, 'hex');
    },
    fetch: (smp, _c, args) => smp.setBin(args[0] as Buffer),
  },
  {
    name: 'ipv4', out: T_IPV4, use: USE_INTERNAL, args: [{ kind: 'str' }],
    check(args) {
      if (parseIpInto(String(args[0]), ipScratch) !== 4) return `invalid IPv4 address '${args[0]}'`;
      args[0] = ((ipScratch[0] << 24) | (ipScratch[1] << 16) | (ipScratch[2] << 8) | ipScratch[3]) >>> 0;
    },
    fetch: (smp, _c, args) => smp.setIPv4(args[0] as number),
  },
  {
    name: 'ipv6', out: T_IPV6, use: USE_INTERNAL, args: [{ kind: 'str' }],
    check(args) {
      const b = Buffer.alloc(16);
      if (parseIpInto(String(args[0]), b) !== 6) return `invalid IPv6 address '${args[0]}'`;
      args[0] = b;
    },
    fetch: (smp, _c, args) => smp.setIPv6(args[0] as Buffer),
  },
  { name: 'meth', out: T_METH, use: USE_INTERNAL, args: [{ kind: 'str' }], fetch: (smp, _c, args) => smp.setMeth(args[0] as string) },
  {
    // rand([range]): 0..range-1, or a 32-bit random number.
    name: 'rand', out: T_SINT, use: USE_INTERNAL, args: [{ kind: 'sint', optional: true }],
    fetch(smp, _c, args) {
      const r = args[0] as number | null;
      return smp.setInt(r !== null && r > 0 ? randomInt(r) : randomInt(0x100000000));
    },
  },
  {
    // date([offset[,unit]]): seconds since the epoch (unit s, ms, us).
    name: 'date', out: T_SINT, use: USE_INTERNAL, args: [{ kind: 'sint', optional: true }, { kind: 'str', optional: true }],
    check(args) {
      if (args[1] !== null && !['s', 'ms', 'us'].includes(String(args[1]))) return `expects 's', 'ms' or 'us', got '${args[1]}'`;
    },
    fetch(smp, _c, args) {
      const off = (args[0] as number | null) ?? 0;
      const unit = args[1] as string | null;
      const now = Date.now();
      if (unit === 'ms') return smp.setInt(now + off);
      if (unit === 'us') return smp.setInt(now * 1000 + off);
      return smp.setInt(Math.floor(now / 1000) + off);
    },
  },
  { name: 'pid', out: T_SINT, use: USE_INTERNAL, fetch: (smp) => smp.setInt(process.pid) },
  {
    name: 'env', out: T_STR, use: USE_INTERNAL, args: [{ kind: 'str' }],
    fetch(smp, _c, args) {
      const v = process.env[args[0] as string];
      return v === undefined ? false : smp.setStr(v);
    },
  },
  { name: 'fe_name', out: T_STR, use: USE_INTERNAL, fetch: (smp, c) => smp.setStr(c.fe.cfg.name) },
  { name: 'fe_id', out: T_SINT, use: USE_INTERNAL, fetch: (smp, c) => smp.setInt(c.fe.cfg.id) },
  { name: 'be_name', out: T_STR, use: USE_BACKEND, fetch: (smp, c) => (c.be !== null ? smp.setStr(c.be.cfg.name) : false) },
  { name: 'be_id', out: T_SINT, use: USE_BACKEND, fetch: (smp, c) => (c.be !== null ? smp.setInt(c.be.cfg.id) : false) },
  { name: 'srv_name', out: T_STR, use: USE_BACKEND, fetch: (smp, c) => (c.srv !== null ? smp.setStr(c.srv.cfg.name) : false) },
  { name: 'srv_id', out: T_SINT, use: USE_BACKEND, fetch: (smp, c) => (c.srv !== null ? smp.setInt(c.srv.cfg.id) : false) },
  {
    // nbsrv([backend]): usable servers of the backend.
    name: 'nbsrv', out: T_SINT, use: USE_INTERNAL, args: [{ kind: 'be', optional: true }],
    fetch(smp, c, args) {
      const p = proxyArg(c, args, true);
      return p === null ? false : smp.setInt(p.usableServers());
    },
  },
  {
    name: 'be_conn', out: T_SINT, use: USE_INTERNAL, args: [{ kind: 'be', optional: true }],
    fetch(smp, c, args) {
      const p = proxyArg(c, args, true);
      return p === null ? false : smp.setInt(p.beconn);
    },
  },
  {
    name: 'fe_conn', out: T_SINT, use: USE_INTERNAL, args: [{ kind: 'fe', optional: true }],
    fetch(smp, c, args) {
      const p = proxyArg(c, args, false);
      return p === null ? false : smp.setInt(p.feconn);
    },
  },
  {
    // connslots([backend]): free connection slots + queue slots of usable
    // servers; -1 when one of them is unlimited (backend.c smp_fetch_connslots).
    name: 'connslots', out: T_SINT, use: USE_INTERNAL, args: [{ kind: 'be', optional: true }],
    fetch(smp, c, args) {
      const p = proxyArg(c, args, true);
      if (p === null) return false;
      let n = 0;
      for (const s of p.servers) {
        if (s.weight() === 0) continue;
        if (s.cfg.maxconn === 0) return smp.setInt(-1);
        n += s.cfg.maxconn - s.cur;
      }
      return smp.setInt(n);
    },
  },
  { name: 'stopping', out: T_BOOL, use: USE_INTERNAL, fetch: (smp, c) => smp.setBool((c.engine as { isStopping?: boolean }).isStopping === true) },
]);

/* ---------------- layer 4 ---------------- */

/*
 * The last IPv4 address text src/dst parsed and its value: a rule set reads
 * the client's address several times per request (src ACLs, %[src]), as the
 * same string, and a keep-alive connection sends many requests.
 */
let lastIpText: string | null = null;
let lastIpV4 = 0;

function setAddress(smp: Sample, ip: string): boolean {
  if (ip === lastIpText) return smp.setIPv4(lastIpV4);
  if (!smp.setIpText(ip)) return false;
  if (smp.t === T_IPV4) {
    lastIpText = ip;
    lastIpV4 = smp.n;
  }
  return true;
}

registerFetches([
  { name: 'src', out: T_ADDR, use: USE_L4CLI, fetch: (smp, c) => setAddress(smp, c.srcIp()) },
  { name: 'src_port', out: T_SINT, use: USE_L4CLI, fetch: (smp, c) => smp.setInt(c.srcPort()) },
  { name: 'dst', out: T_ADDR, use: USE_L4CLI, fetch: (smp, c) => setAddress(smp, c.dstIp()) },
  { name: 'dst_port', out: T_SINT, use: USE_L4CLI, fetch: (smp, c) => smp.setInt(c.dstPort()) },
]);

/* ---------------- layer 6: request contents ---------------- */

/** The buffered request bytes; sets MAY_CHANGE when more may come. */
function payload(smp: Sample, ctx: SampleContext): Buffer | null {
  const b = ctx.reqPayload();
  if (!ctx.reqFinal) smp.flags |= F_MAY_CHANGE;
  return b;
}

/** A hello parse of the request bytes, cached on the buffer (rules re-run on each read). */
let helloBuf: Buffer | null = null;
let helloRes: ReturnType<typeof parseClientHello> | null = null;
function clientHello(smp: Sample, ctx: SampleContext): ClientHello | null {
  const b = payload(smp, ctx);
  if (b === null || b.length === 0) return null;
  if (b !== helloBuf) { helloBuf = b; helloRes = parseClientHello(b); }
  const r = helloRes!;
  if (r.status !== 'ok') {
    if (r.status === 'invalid') smp.flags &= ~F_MAY_CHANGE;
    return null;
  }
  // The hello is complete: its values will not change.
  smp.flags &= ~F_MAY_CHANGE;
  return r;
}

registerFetches([
  {
    // req.len: bytes in the request buffer (MAY_CHANGE until final).
    name: 'req.len', out: T_SINT, use: USE_L6REQ,
    fetch(smp, c) { const b = payload(smp, c); return smp.setInt(b === null ? 0 : b.length); },
  },
  {
    // req.payload(offset,length): length 0 means up to the end of the buffer.
    name: 'req.payload', out: T_BIN, use: USE_L6REQ, args: [{ kind: 'sint' }, { kind: 'sint' }],
    check(args) { if ((args[0] as number) < 0 || (args[1] as number) < 0) return 'offset and length must be positive'; },
    fetch(smp, c, args) {
      const b = payload(smp, c);
      const off = args[0] as number, len = args[1] as number;
      if (b === null) return false;
      if (len === 0) {
        if (off > b.length) return false;
        return smp.setBin(b.subarray(off));
      }
      if (b.length < off + len) return false;
      smp.flags &= ~F_MAY_CHANGE;
      return smp.setBin(b.subarray(off, off + len));
    },
  },
  {
    // req.payload_lv(offset1,length[,offset2]): a length-prefixed block.
    name: 'req.payload_lv', out: T_BIN, use: USE_L6REQ, args: [{ kind: 'sint' }, { kind: 'sint' }, { kind: 'str', optional: true }],
    check(args) {
      if (args[2] !== null && !/^[-+]?[0-9]+$/.test(String(args[2]))) return `invalid offset '${args[2]}'`;
      args[2] = args[2] === null ? null : String(args[2]);
    },
    fetch(smp, c, args) {
      const b = payload(smp, c);
      if (b === null) return false;
      const off1 = args[0] as number, llen = args[1] as number;
      if (llen < 1 || llen > 4 || b.length < off1 + llen) return false;
      let len = 0;
      for (let i = 0; i < llen; i++) len = len * 256 + b[off1 + i];
      let off2 = off1 + llen;
      const rel = args[2] as string | null;
      if (rel !== null) off2 = rel[0] === '+' || rel[0] === '-' ? off2 + Number(rel) : Number(rel);
      if (off2 < 0 || b.length < off2 + len) return false;
      smp.flags &= ~F_MAY_CHANGE;
      return smp.setBin(b.subarray(off2, off2 + len));
    },
  },
  {
    // wait_end: true once the inspect delay is over (payload.c smp_fetch_wait_end).
    name: 'wait_end', out: T_BOOL, use: USE_L6REQ,
    fetch(smp, c) {
      if (!c.reqFinal) { smp.flags |= F_MAY_CHANGE; return false; }
      return smp.setBool(true);
    },
  },
  {
    name: 'req.ssl_hello_type', out: T_SINT, use: USE_L6REQ,
    fetch(smp, c) {
      const b = payload(smp, c);
      if (b === null) return false;
      const t = sslHelloType(b);
      if (t === TLS_NEED_MORE) return false;
      smp.flags &= ~F_MAY_CHANGE;
      if (t === TLS_NO_MATCH) return false;
      return smp.setInt(t);
    },
  },
  {
    name: 'req.ssl_ver', out: T_SINT, use: USE_L6REQ,
    fetch(smp, c) {
      const b = payload(smp, c);
      if (b === null) return false;
      const v = reqSslVer(b);
      if (v === TLS_NEED_MORE) return false;
      smp.flags &= ~F_MAY_CHANGE;
      if (v === TLS_NO_MATCH) return false;
      return smp.setInt(v);
    },
  },
  {
    name: 'req.ssl_sni', out: T_STR, use: USE_L6REQ,
    fetch(smp, c) { const h = clientHello(smp, c); return h !== null && h.sni !== undefined ? smp.setStr(h.sni) : false; },
  },
  {
    name: 'req.ssl_alpn', out: T_STR, use: USE_L6REQ,
    fetch(smp, c) {
      const h = clientHello(smp, c);
      if (h === null || h.alpnOffset < 0) return false;
      const all = alpnProtocols(helloBuf!, h);
      return all.length > 0 ? smp.setStr(all[0]) : false;
    },
  },
  {
    name: 'req.ssl_ec_ext', out: T_BOOL, use: USE_L6REQ,
    fetch(smp, c) { const h = clientHello(smp, c); return h !== null && h.ecExt ? smp.setBool(true) : false; },
  },
  {
    name: 'req.ssl_st_ext', out: T_SINT, use: USE_L6REQ,
    fetch(smp, c) { const h = clientHello(smp, c); return h !== null && h.stExt !== undefined ? smp.setInt(h.stExt) : false; },
  },
  {
    // res.len / res.payload for tcp-response content.
    name: 'res.len', out: T_SINT, use: USE_L6RES,
    fetch(smp, c) { const b = c.resPayload(); smp.flags |= F_MAY_CHANGE; return smp.setInt(b === null ? 0 : b.length); },
  },
  {
    name: 'res.payload', out: T_BIN, use: USE_L6RES, args: [{ kind: 'sint' }, { kind: 'sint' }],
    check(args) { if ((args[0] as number) < 0 || (args[1] as number) < 0) return 'offset and length must be positive'; },
    fetch(smp, c, args) {
      const b = c.resPayload();
      const off = args[0] as number, len = args[1] as number;
      if (b === null) { smp.flags |= F_MAY_CHANGE; return false; }
      if (len === 0) { smp.flags |= F_MAY_CHANGE; return off <= b.length ? smp.setBin(b.subarray(off)) : false; }
      if (b.length < off + len) { smp.flags |= F_MAY_CHANGE; return false; }
      return smp.setBin(b.subarray(off, off + len));
    },
  },
]);

/* Old names HAProxy still accepts (payload.c). */
for (const [old, cur] of [['req_len', 'req.len'], ['req_ssl_sni', 'req.ssl_sni'], ['req_ssl_hello_type', 'req.ssl_hello_type'], ['req_ssl_ver', 'req.ssl_ver']] as const) {
  registerFetches([{ ...findFetch(cur)!, name: old }]);
}

registerAclKeywords([
  { name: 'payload', fetch: 'req.payload', match: 'bin' },
  { name: 'payload_lv', fetch: 'req.payload_lv', match: 'bin' },
  { name: 'req_ssl_sni', fetch: 'req.ssl_sni', match: 'str' },
  { name: 'req_ssl_ver', fetch: 'req.ssl_ver', match: 'int', parse: 'ver' },
  { name: 'req.ssl_ver', fetch: 'req.ssl_ver', match: 'int', parse: 'ver' },
]);

/* ---------------- layer 5: the terminated TLS connection ---------------- */

registerFetches([
  { name: 'ssl_fc', out: T_BOOL, use: USE_L5CLI, fetch: (smp, c) => smp.setBool(c.tlsView() !== null) },
  {
    name: 'ssl_fc_sni', out: T_STR, use: USE_L5CLI,
    fetch(smp, c) { const t = c.tlsView(); return t !== null && t.sni !== null ? smp.setStr(t.sni) : false; },
  },
  { name: 'ssl_fc_has_sni', out: T_BOOL, use: USE_L5CLI, fetch: (smp, c) => { const t = c.tlsView(); return t !== null ? smp.setBool(t.sni !== null) : false; } },
  { name: 'ssl_fc_protocol', out: T_STR, use: USE_L5CLI, fetch: (smp, c) => { const t = c.tlsView(); return t !== null ? smp.setStr(t.version) : false; } },
  { name: 'ssl_fc_cipher', out: T_STR, use: USE_L5CLI, fetch: (smp, c) => { const t = c.tlsView(); return t !== null ? smp.setStr(t.cipher) : false; } },
  {
    name: 'ssl_fc_alpn', out: T_STR, use: USE_L5CLI,
    fetch(smp, c) { const t = c.tlsView(); return t !== null && t.alpn !== null ? smp.setStr(t.alpn) : false; },
  },
  { name: 'ssl_fc_is_resumed', out: T_BOOL, use: USE_L5CLI, fetch: (smp, c) => { const t = c.tlsView(); return t !== null ? smp.setBool(t.reused) : false; } },
  { name: 'ssl_c_used', out: T_BOOL, use: USE_L5CLI, fetch: (smp, c) => { const t = c.tlsView(); return t !== null ? smp.setBool(t.clientCert) : false; } },
  { name: 'ssl_c_verify', out: T_SINT, use: USE_L5CLI, fetch: (smp, c) => { const t = c.tlsView(); return t !== null ? smp.setInt(t.verify) : false; } },
  {
    name: 'ssl_c_s_dn', out: T_STR, use: USE_L5CLI,
    fetch(smp, c) { const t = c.tlsView(); const d = t !== null ? t.subjectDn : null; return d !== null ? smp.setStr(d) : false; },
  },
  {
    name: 'ssl_c_i_dn', out: T_STR, use: USE_L5CLI,
    fetch(smp, c) { const t = c.tlsView(); const d = t !== null ? t.issuerDn : null; return d !== null ? smp.setStr(d) : false; },
  },
]);

registerAclKeywords([
  { name: 'ssl_fc_sni_end', fetch: 'ssl_fc_sni', match: 'end' },
  { name: 'ssl_fc_sni_reg', fetch: 'ssl_fc_sni', match: 'reg' },
]);
