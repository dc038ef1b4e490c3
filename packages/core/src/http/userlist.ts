/**
 * `userlist` sections and HTTP basic authentication (configuration.txt 3.4,
 * 7.3.6 http_auth / http_auth_group):
 *
 *   userlist <name>
 *     group <group> [users <user>[,<user>...]]
 *     user <user> [password <hash> | insecure-password <text>] [groups <group>[,<group>...]]
 *
 *   http-request auth realm admin unless { http_auth(admins) }
 *   acl is_ops http_auth_group(admins) ops
 *
 * Hashes are crypt(3) strings: SHA-256 / SHA-512 crypt ($5$, $6$, the
 * `unixcrypt` package) and bcrypt ($2a$, $2b$, $2y$, the `bcryptjs`
 * package); others (MD5 $1$, yescrypt $y$, DES) are refused at load with
 * the reason, so that no user silently fails to log in.
 *
 * Verifying a hash costs milliseconds of CPU (SHA-512 crypt: ~10 ms,
 * bcrypt cost 8: ~20 ms). HAProxy calls crypt() synchronously on every
 * request; we do the same on the event loop, but remember each
 * (user, password) outcome in a bounded cache, so a client that keeps
 * sending the same credentials pays once. insecure-password costs nothing.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { registerKeywords, registerSection, type ParseState } from '../registry';
import type { UserlistConfig } from '../config/compiled';
import { registerFetches, T_BOOL, T_STR, USE_HRQHV, type SampleContext, type ArgValue, type CompileEnv } from '../rules/sample';
import { registerAclKeywords } from '../rules/acl';
import type { PatternSet, PatternSource } from '../rules/pattern';
import type { Sample } from '../rules/sample';
import { compareSync as bcryptCompare } from 'bcryptjs';

type UnixCrypt = { verify(password: string, hash: string): boolean };
/** unixcrypt is an ES module: loaded once at start (userlistReady). */
let unixcrypt: UnixCrypt | null = null;
export const userlistReady: Promise<void> = import('unixcrypt').then((m: UnixCrypt) => { unixcrypt = m; });

const NAME_RE = /^[A-Za-z0-9_.:-]+$/;

function lists(state: ParseState): Record<string, UserlistConfig> {
  let m = state.scratch.get('userlists') as Record<string, UserlistConfig> | undefined;
  if (!m) {
    m = {};
    state.scratch.set('userlists', m);
  }
  return m;
}

/** Why a hash cannot be checked here, or null when it can. */
export function hashProblem(hash: string): string | null {
  if (/^\$[56]\$/.test(hash)) return null;
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return null;
  if (hash.startsWith('$1$')) return 'MD5-crypt ($1$) passwords are not supported (use $5$, $6$ or bcrypt)';
  if (hash.startsWith('$y$')) return 'yescrypt ($y$) passwords are not supported (use $5$, $6$ or bcrypt: mkpasswd -m sha-512)';
  return `unsupported password hash '${hash.slice(0, 4)}...' (use $5$, $6$ or bcrypt)`;
}

registerSection({
  name: 'userlist',
  open: () => undefined,
  proxyless(state, args, file, line) {
    const name = args[0];
    if (name === undefined || name === '') { state.diag.error(file, line, 'userlist', `'userlist' expects a name`); return false; }
    if (!NAME_RE.test(name)) { state.diag.error(file, line, 'userlist', `invalid character in userlist name '${name}'`); return false; }
    const m = lists(state);
    if (m[name]) { state.diag.error(file, line, 'userlist', `userlist '${name}' has the same name as the one declared at ${m[name].file}:${m[name].line}`); return false; }
    m[name] = { name, file, line, users: [], groups: [] };
    state.scratch.set('userlistCurrent', m[name]);
    (state.scratch.get('userlistNames') as Set<string> | undefined)?.add(name) ?? state.scratch.set('userlistNames', new Set([name]));
    return true;
  },
});

function current(state: ParseState): UserlistConfig {
  return state.scratch.get('userlistCurrent') as UserlistConfig;
}

registerKeywords([
  {
    name: 'group', sections: ['userlist'], usage: 'group <name> [users <user>[,<user>...]]',
    parse(ctx) {
      const [name, kw, list] = ctx.args;
      if (!name) return ctx.error(`'group' expects <name> as argument`);
      const ul = current(ctx.state);
      if (ul.groups.some(g => g.name === name)) return ctx.error(`duplicate group '${name}' in userlist '${ul.name}'`);
      if (kw !== undefined && (kw !== 'users' || list === undefined)) return ctx.error(`expects 'users <user>[,<user>...]' after the group name`);
      if (ctx.args.length > 3) return ctx.error(`unexpected argument '${ctx.args[3]}'`);
      ul.groups.push({ name, users: list ? list.split(',').filter(Boolean) : [] });
    },
  },
  {
    name: 'user', sections: ['userlist'], usage: 'user <name> [password|insecure-password <password>] [groups <group>[,<group>...]]',
    parse(ctx) {
      const a = ctx.args;
      const name = a[0];
      if (!name) return ctx.error(`'user' expects <name> as argument`);
      const ul = current(ctx.state);
      if (ul.users.some(u => u.name === name)) return ctx.error(`duplicate user '${name}' in userlist '${ul.name}'`);
      const u: UserlistConfig['users'][number] = { name, password: null, insecure: false, groups: [] };
      for (let i = 1; i < a.length; i += 2) {
        const v = a[i + 1];
        if (v === undefined) return ctx.error(`'${a[i]}' expects an argument`);
        if (a[i] === 'password') {
          const why = hashProblem(v);
          if (why) return ctx.error(`user '${name}': ${why}`);
          u.password = v;
          u.insecure = false;
        } else if (a[i] === 'insecure-password') {
          u.password = v;
          u.insecure = true;
        } else if (a[i] === 'groups') {
          u.groups = v.split(',').filter(Boolean);
        } else {
          return ctx.error(`unexpected argument '${a[i]}' (expects password, insecure-password or groups)`);
        }
      }
      ul.users.push(u);
    },
  },
]);

/** After parsing: groups named by users must exist (HAProxy: "unable to find group"). */
export function finalizeUserlists(state: ParseState): Record<string, UserlistConfig> {
  const m = lists(state);
  for (const ul of Object.values(m)) {
    const groups = new Set(ul.groups.map(g => g.name));
    for (const u of ul.users) for (const g of u.groups) {
      if (!groups.has(g)) state.diag.error(ul.file, ul.line, 'userlist', `userlist '${ul.name}': unable to find group '${g}' of user '${u.name}'`);
    }
    for (const g of ul.groups) for (const u of g.users) {
      if (!ul.users.some(x => x.name === u)) state.diag.error(ul.file, ul.line, 'userlist', `userlist '${ul.name}': group '${g.name}' names unknown user '${u}'`);
    }
  }
  return m;
}

/* ---------------- verification ---------------- */

/** A userlist as the worker checks it. */
class Userlist {
  readonly users = new Map<string, { password: string | null; insecure: boolean; groups: string }>();
  /** (user, sha256(password)) → outcome of a hash check; bounded. */
  private readonly verified = new Map<string, boolean>();

  constructor(cfg: UserlistConfig) {
    for (const u of cfg.users) {
      const groups = new Set(u.groups);
      for (const g of cfg.groups) if (g.users.includes(u.name)) groups.add(g.name);
      this.users.set(u.name, { password: u.password, insecure: u.insecure, groups: ',' + [...groups].join(',') + ',' });
    }
  }

  /** The user's groups (",g1,g2,") when the credentials are right, else null. */
  check(user: string, pass: string): string | null {
    const u = this.users.get(user);
    if (u === undefined || u.password === null) return null;
    if (u.insecure) {
      const a = Buffer.from(pass, 'latin1'), b = Buffer.from(u.password, 'latin1');
      return a.length === b.length && timingSafeEqual(a, b) ? u.groups : null;
    }
    const key = user + '\0' + createHash('sha256').update(pass, 'latin1').digest('base64');
    let ok = this.verified.get(key);
    if (ok === undefined) {
      const h = u.password;
      ok = h.startsWith('$2') ? bcryptCompare(pass, h) : unixcrypt !== null && unixcrypt.verify(pass, h);
      if (this.verified.size >= 10000) this.verified.clear();
      this.verified.set(key, ok);
    }
    return ok ? u.groups : null;
  }
}

/** Compiled userlists per CompiledConfig, built on first use in a worker. */
const compiled = new WeakMap<object, Map<string, Userlist>>();

function userlistOf(ctx: SampleContext, name: string): Userlist | null {
  const cfg = ctx.engine as unknown as { cfg?: { userlists?: Record<string, UserlistConfig> } };
  const all = cfg.cfg?.userlists;
  if (all === undefined) return null;
  let m = compiled.get(all);
  if (m === undefined) { m = new Map(); compiled.set(all, m); }
  let ul = m.get(name);
  if (ul === undefined) {
    const c = all[name];
    if (c === undefined) return null;
    ul = new Userlist(c);
    m.set(name, ul);
  }
  return ul;
}

/** Basic credentials of the request (RFC 7617), or null. */
function basicCredentials(ctx: SampleContext): [string, string] | null {
  const h = ctx.httpReq;
  if (h === null) return null;
  const v = h.headers.get('authorization');
  if (v === undefined) return null;
  const sp = v.indexOf(' ');
  if (sp < 0 || v.slice(0, sp).toLowerCase() !== 'basic') return null;
  const dec = Buffer.from(v.slice(sp + 1).trim(), 'base64').toString('latin1');
  const colon = dec.indexOf(':');
  if (colon < 0) return null;
  return [dec.slice(0, colon), dec.slice(colon + 1)];
}

function authGroups(ctx: SampleContext, args: readonly ArgValue[]): string | null {
  const cred = basicCredentials(ctx);
  if (cred === null) return null;
  const ul = userlistOf(ctx, args[0] as string);
  return ul === null ? null : ul.check(cred[0], cred[1]);
}

function checkUserlist(args: ArgValue[], env: CompileEnv): string | void {
  if (env.userlists !== undefined && !env.userlists.has(String(args[0]))) return `unable to find userlist '${args[0]}'`;
}

registerFetches([
  {
    name: 'http_auth', out: T_BOOL, use: USE_HRQHV, args: [{ kind: 'str' }], check: checkUserlist,
    fetch(smp, ctx, args) { return smp.setBool(authGroups(ctx, args) !== null); },
  },
  {
    // The groups of the authenticated user, for the ACL to match group names.
    name: 'http_auth_group', out: T_STR, use: USE_HRQHV, args: [{ kind: 'str' }], check: checkUserlist,
    fetch(smp, ctx, args) {
      const g = authGroups(ctx, args);
      return g === null ? false : smp.setStr(g);
    },
  },
]);

/** http_auth_group's ACL: the patterns are group names; the user must be in one (HAProxy's pat_match_auth). */
class GroupSet implements PatternSet {
  readonly lastMatch = null;
  readonly steps = 0;
  constructor(private readonly groups: readonly string[]) {}
  get count(): number { return this.groups.length; }
  lookup(smp: Sample): number {
    const s = smp.s;
    for (let i = 0; i < this.groups.length; i++) if (s.includes(',' + this.groups[i] + ',')) return i;
    return -1;
  }
  match(smp: Sample): boolean { return this.lookup(smp) >= 0; }
}

registerAclKeywords([
  { name: 'http_auth_group', fetch: 'http_auth_group', match: 'str', patterns: (list: readonly PatternSource[]) => new GroupSet(list.map(p => p.text)) },
]);
