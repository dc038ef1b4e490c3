/**
 * The variable actions of every rule set (HAProxy vars.c):
 *   set-var(<var-name>[,<cond>...]) <expr>
 *   set-var-fmt(<var-name>[,<cond>...]) <fmt>
 *   unset-var(<var-name>)
 * The expression is a sample expression (several words are joined as
 * HAProxy does: `set-var(txn.x) req.hdr(host),lower`), the format a
 * log-format string rendered per request.
 */
import { registerActions, ACT_CONTINUE, type RuleSetName, type Action, type ActionEnv } from './rule-set';
import { compileSampleExpr, Sample, type SampleExpr, type VarRef } from './sample';
import { parseVarArg, parseVarCondition, setVar, unsetVar } from './vars';
import { compileLogFormat, renderLogFormat, EMPTY_LOG_RECORD, type CompiledLogFormat } from '../log/log-format';

const ALL_SETS: readonly RuleSetName[] = [
  'tcp-request connection', 'tcp-request session', 'tcp-request content', 'tcp-response content',
  'http-request', 'http-response', 'http-after-response',
];

/** `name(a,b,c)` → [a, b, c]; an error text when the parentheses are wrong. */
function parenArgs(word: string, kw: string): string[] | string {
  const open = word.indexOf('(');
  if (open < 0 || !word.endsWith(')')) return `expects '${kw}(<var-name>)'`;
  return word.slice(open + 1, -1).split(',').map(s => s.trim());
}

function varAndConditions(word: string, kw: string, conds: boolean): { ref: VarRef; cond: number } | string {
  const a = parenArgs(word, kw);
  if (typeof a === 'string') return a;
  const ref = parseVarArg(a[0]);
  if (typeof ref === 'string') return ref;
  let cond = 0;
  for (const w of a.slice(1)) {
    if (!conds) return `unexpected argument '${w}'`;
    const c = parseVarCondition(w);
    if (typeof c === 'string') return c;
    cond |= c;
  }
  return { ref, cond };
}

class SetVar implements Action {
  constructor(private readonly ref: VarRef, private readonly cond: number, private readonly expr: SampleExpr) {}
  run(host: Parameters<Action['run']>[0]): number {
    const smp = this.expr.eval(host);
    if (smp !== null) setVar(host, this.ref, smp, this.cond);
    return ACT_CONTINUE;
  }
}

class SetVarFmt implements Action {
  private readonly smp = new Sample();
  constructor(private readonly ref: VarRef, private readonly cond: number, private readonly fmt: CompiledLogFormat) {}
  run(host: Parameters<Action['run']>[0]): number {
    const f = this.fmt;
    this.smp.setStr(renderLogFormat(f, f.needsRecord ? host.logRecord() : EMPTY_LOG_RECORD, host));
    setVar(host, this.ref, this.smp, this.cond);
    return ACT_CONTINUE;
  }
}

class UnsetVar implements Action {
  constructor(private readonly ref: VarRef) {}
  run(host: Parameters<Action['run']>[0]): number {
    unsetVar(host, this.ref);
    return ACT_CONTINUE;
  }
}

registerActions([
  {
    name: 'set-var', prefix: true, sets: ALL_SETS, usage: 'set-var(<var-name>[,<cond>...]) <expr>',
    parse(words: string[], env: ActionEnv) {
      const v = varAndConditions(words[0], 'set-var', true);
      if (typeof v === 'string') return v;
      if (words.length < 2) return 'missing sample expression';
      const e = compileSampleExpr(words.slice(1).join(' '), env);
      if (typeof e === 'string') return e;
      return new SetVar(v.ref, v.cond, e);
    },
  },
  {
    name: 'set-var-fmt', prefix: true, sets: ALL_SETS, usage: 'set-var-fmt(<var-name>[,<cond>...]) <fmt>',
    parse(words: string[], env: ActionEnv) {
      const v = varAndConditions(words[0], 'set-var-fmt', true);
      if (typeof v === 'string') return v;
      if (words.length !== 2) return words.length < 2 ? 'missing format string' : `unexpected argument '${words[2]}' (quote the format)`;
      const c = compileLogFormat(words[1], { http: env.proxy.mode === 'http', rule: true, env });
      if (!c.ok) return `failed to parse log-format : ${c.error}`;
      return new SetVarFmt(v.ref, v.cond, c.fmt);
    },
  },
  {
    name: 'unset-var', prefix: true, sets: ALL_SETS, usage: 'unset-var(<var-name>)',
    parse(words: string[]) {
      const v = varAndConditions(words[0], 'unset-var', false);
      if (typeof v === 'string') return v;
      if (words.length > 1) return `unexpected argument '${words[1]}'`;
      return new UnsetVar(v.ref);
    },
  },
]);
