/**
 * Variables (HAProxy configuration.txt 2.8 and 7.3.2 `var`, src/vars.c).
 *
 * A variable lives in one scope: proc (this worker, shared by every
 * stream), sess (the client connection), txn (the transaction), req/res
 * (one direction of it). The stream owns the sess/txn/req/res maps and
 * hands them over in SampleContext.vars; a null map means the scope does
 * not exist at this point (vars.c get_vars() returning NULL, or
 * `vars->scope != scope` for req vs res): setting does nothing and getting
 * finds nothing.
 *
 * As in vars.c, the config parser creates every `proc.*` variable it sees
 * (vars_check_arg() with VF_CREATEONLY|VF_PERMANENT) with no value (type
 * any): such a variable exists (`ifexists` is true) but is not set, and
 * unset-var only takes its value away.
 */
import {
  Sample, T_ANY, T_BIN, T_IPV6, T_SINT, T_STR,
  parseVarName, registerFetches, USE_INTERNAL,
  type ArgValue, type SampleContext, type VarRef,
} from './sample';

/** proc.* variables of this worker. */
const procVars = new Map<string, Sample>();
/** proc.* names created by the configuration: never removed, only emptied. */
const permanent = new Set<string>();

/* set-var conditions (vars-t.h VF_COND_*). */
export const VF_COND_IFEXISTS = 0x004;
export const VF_COND_IFNOTEXISTS = 0x008;
export const VF_COND_IFEMPTY = 0x010;
export const VF_COND_IFNOTEMPTY = 0x020;
export const VF_COND_IFSET = 0x040;
export const VF_COND_IFNOTSET = 0x080;
export const VF_COND_IFGT = 0x100;
export const VF_COND_IFLT = 0x200;

const CONDITIONS: Record<string, number> = {
  ifexists: VF_COND_IFEXISTS,
  ifnotexists: VF_COND_IFNOTEXISTS,
  ifempty: VF_COND_IFEMPTY,
  ifnotempty: VF_COND_IFNOTEMPTY,
  ifset: VF_COND_IFSET,
  ifnotset: VF_COND_IFNOTSET,
  ifgt: VF_COND_IFGT,
  iflt: VF_COND_IFLT,
};

/** One set-var condition word → its VF_COND_* bit, or HAProxy's error text. */
export function parseVarCondition(word: string): number | string {
  const f = Object.prototype.hasOwnProperty.call(CONDITIONS, word) ? CONDITIONS[word] : 0;
  return f !== 0 ? f : `unknown condition "${word}"`;
}

/**
 * A variable name argument, as vars_check_arg(): `<scope>.<name>` where the
 * name holds only [a-zA-Z0-9._] (vars_hash_name() refuses '-', which
 * parseVarName() lets through). A proc variable is created on the spot.
 */
export function parseVarArg(text: string): VarRef | string {
  if (text.length === 0) return 'Empty variable name cannot be accepted';
  const ref = parseVarName(text);
  if (typeof ref === 'string') return ref;
  const bad = ref.name.indexOf('-');
  if (bad >= 0) return `invalid syntax at char '${ref.name.slice(bad)}'`;
  declareVar(ref);
  return ref;
}

/** What the config parser does for each variable it meets: proc variables exist from then on, unset. */
export function declareVar(ref: VarRef): void {
  if (ref.scope !== 'proc') return;
  permanent.add(ref.name);
  if (!procVars.has(ref.name)) procVars.set(ref.name, new Sample());
}

function scopeMap(ctx: SampleContext, scope: VarRef['scope']): Map<string, Sample> | null {
  switch (scope) {
    case 'proc': return procVars;
    case 'sess': return ctx.vars.sess;
    case 'txn': return ctx.vars.txn;
    case 'req': return ctx.vars.req;
    case 'res': return ctx.vars.res;
  }
  return null;
}

/**
 * The variable's value, or null when it is not set or its scope does not
 * exist here. The Sample is the stored one: copy it, never change it.
 */
export function getVar(ctx: SampleContext, ref: VarRef): Sample | null {
  const m = scopeMap(ctx, ref.scope);
  if (m === null) return null;
  const v = m.get(ref.name);
  return v === undefined || v.t === T_ANY ? null : v;
}

/**
 * Stores a copy of smp in the variable (vars.c var_set()), under the
 * VF_COND_* conditions in `cond`. Returns false when the scope does not
 * exist here or a condition is not met. As in HAProxy, a variable that did
 * not exist is created (unset) before the conditions are looked at.
 */
export function setVar(ctx: SampleContext, ref: VarRef, smp: Sample, cond = 0): boolean {
  const m = scopeMap(ctx, ref.scope);
  if (m === null) return false;
  let v = m.get(ref.name);
  if (v !== undefined) {
    if ((cond & VF_COND_IFNOTEXISTS) !== 0) return false;
  } else {
    if ((cond & VF_COND_IFEXISTS) !== 0) return false;
    v = new Sample();
    m.set(ref.name, v);
  }
  const prev = v.t;
  if (((cond & VF_COND_IFSET) !== 0 && prev === T_ANY) || ((cond & VF_COND_IFNOTSET) !== 0 && prev !== T_ANY)) return false;
  const t = smp.t;
  if ((cond & VF_COND_IFEMPTY) !== 0 && t !== T_ANY && t !== T_STR && t !== T_BIN) return false; // scalars are never empty
  if (t === T_SINT) {
    // ifgt/iflt compare only two integers; otherwise they hold
    if (prev === T_SINT && (((cond & VF_COND_IFGT) !== 0 && !(v.n > smp.n)) || ((cond & VF_COND_IFLT) !== 0 && !(v.n < smp.n)))) return false;
  } else if (t === T_STR || t === T_BIN) {
    const empty = t === T_STR ? smp.s.length === 0 : smp.b!.length === 0;
    if (((cond & VF_COND_IFNOTEMPTY) !== 0 && empty) || ((cond & VF_COND_IFEMPTY) !== 0 && !empty)) return false;
  }
  v.copyFrom(smp);
  v.flags = 0;
  // The sample's bytes may belong to a buffer the stream reuses (payload, body): keep our own.
  if ((t === T_BIN || t === T_IPV6) && smp.b !== null) v.b = Buffer.from(smp.b);
  return true;
}

/** unset-var (vars.c var_unset()): false only when the scope does not exist here. */
export function unsetVar(ctx: SampleContext, ref: VarRef): boolean {
  const m = scopeMap(ctx, ref.scope);
  if (m === null) return false;
  if (ref.scope === 'proc' && permanent.has(ref.name)) {
    const v = m.get(ref.name);
    if (v !== undefined) { v.t = T_ANY; v.b = null; v.s = ''; v.n = 0; }
  } else {
    m.delete(ref.name);
  }
  return true;
}

/* ---------------- the var() fetch ---------------- */

registerFetches([
  {
    // var(<var-name>[,<default>]): the default (2.6) comes back as a string when the variable is not set.
    name: 'var',
    args: [{ kind: 'str' }, { kind: 'str', optional: true }],
    out: T_ANY,
    use: USE_INTERNAL,
    check(args: ArgValue[]): string | void {
      const ref = parseVarArg(args[0] as string);
      if (typeof ref === 'string') return ref;
      args[0] = ref;
    },
    fetch(smp: Sample, ctx: SampleContext, args: readonly ArgValue[]): boolean {
      const ref = args[0] as VarRef;
      const m = scopeMap(ctx, ref.scope);
      if (m === null) return false; // the scope does not exist here: no default either
      const v = m.get(ref.name);
      if (v !== undefined && v.t !== T_ANY) {
        smp.copyFrom(v);
        return true;
      }
      const def = args[1];
      return typeof def === 'string' ? smp.setStr(def) : false;
    },
  },
]);
