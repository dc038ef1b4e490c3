/**
 * Actions that change how the stream itself behaves (HAProxy 2.6
 * http_act.c / tcp_act.c): set-log-level, set-timeout, set-src, set-dst.
 */
import { registerActions, ACT_CONTINUE, ACT_WAIT_BODY, type Action, type ActionEnv, type RuleHost, type RuleSetName } from './rule-set';
import { compileSampleExpr, castTo, ipv4Text, ipv6Text, T_ADDR, T_IPV4, T_IPV6, T_STR, T_SINT, type SampleExpr } from './sample';
import { parseTime, parseSize } from '../config/args';

/** syslog severities by name, as HAProxy's log levels; `silent` is -1. */
const LEVELS: Readonly<Record<string, number>> = {
  silent: -1, emerg: 0, alert: 1, crit: 2, err: 3, warning: 4, notice: 5, info: 6, debug: 7,
};

class SetLogLevel implements Action {
  constructor(private readonly level: number) {}
  run(host: RuleHost): number { host.logLevel = this.level; return ACT_CONTINUE; }
}

class SetTimeout implements Action {
  constructor(private readonly which: 'server' | 'tunnel', private readonly ms: number, private readonly expr: SampleExpr | null) {}
  run(host: RuleHost): number {
    let ms = this.ms;
    if (this.expr !== null) {
      const smp = this.expr.eval(host);
      // An expression gives milliseconds; a missing or bad value changes nothing.
      if (smp === null || !castTo(smp, T_SINT) || smp.n <= 0) return ACT_CONTINUE;
      ms = smp.n;
    }
    host.timeoutOverride?.(this.which, ms);
    return ACT_CONTINUE;
  }
}

class SetAddress implements Action {
  constructor(private readonly which: 'src' | 'dst', private readonly expr: SampleExpr) {}
  run(host: RuleHost): number {
    const smp = this.expr.eval(host);
    if (smp === null) return ACT_CONTINUE;
    // HAProxy casts to an address; a string that is not one leaves it as it was.
    if (smp.t === T_STR && !castTo(smp, T_ADDR)) return ACT_CONTINUE;
    if (smp.t === T_SINT && !castTo(smp, T_IPV4)) return ACT_CONTINUE;
    if (smp.t === T_IPV4) host.overrideAddress?.(this.which, ipv4Text(smp.n), null);
    else if (smp.t === T_IPV6) host.overrideAddress?.(this.which, ipv6Text(smp.b!), null);
    return ACT_CONTINUE;
  }
}

class WaitForBody implements Action {
  constructor(private readonly ms: number, private readonly atLeast: number) {}
  run(host: RuleHost): number {
    return host.waitForBody !== undefined && host.waitForBody(this.ms, this.atLeast) ? ACT_WAIT_BODY : ACT_CONTINUE;
  }
}

class Capture implements Action {
  constructor(private readonly response: boolean, private readonly id: number, private readonly expr: SampleExpr) {}
  run(host: RuleHost): number {
    const v = this.expr.evalText(host);
    if (v !== null) host.captureValue?.(this.response, this.id, v);
    return ACT_CONTINUE;
  }
}

const HTTP_AND_TCP: readonly RuleSetName[] = ['http-request', 'tcp-request connection', 'tcp-request session', 'tcp-request content'];

registerActions([
  {
    name: 'wait-for-body', sets: ['http-request'], usage: 'wait-for-body time <time> [ at-least <bytes> ]',
    parse(words: string[]) {
      if (words[1] !== 'time' || words[2] === undefined) return `expects 'time <time>' [ 'at-least <bytes>' ]`;
      const t = parseTime(words[2]);
      if (!t.ok || t.value <= 0) return `invalid time '${words[2]}'`;
      let atLeast = 0;
      if (words.length > 3) {
        if (words[3] !== 'at-least' || words[4] === undefined || words.length > 5) return `expects 'at-least <bytes>' after the time`;
        const n = parseSize(words[4]);
        if (!n.ok || n.value <= 0) return `invalid size '${words[4]}'`;
        atLeast = n.value;
      }
      return new WaitForBody(t.value, atLeast);
    },
  },
  {
    // `capture <sample> len <n>` became `... id <slot>` when the line was read (rules/keywords.ts).
    name: 'capture', sets: ['http-request', 'http-response'], usage: 'capture <sample> [ len <length> | id <id> ]',
    parse(words: string[], env: ActionEnv) {
      const i = words.lastIndexOf('id');
      if (i < 2 || i !== words.length - 2) return `expects 'capture <sample> len <length>' or 'capture <sample> id <id>'`;
      const id = Number(words[i + 1]);
      const response = env.set === 'http-response';
      const slots = response ? env.proxy.resCaptures : env.proxy.reqCaptures;
      if (!Number.isInteger(id) || id < 0 || id >= slots.length) return `unable to find capture id '${words[i + 1]}' (declare it with 'declare capture ${response ? 'response' : 'request'} len <n>')`;
      const e = compileSampleExpr(words.slice(1, i).join(' '), env);
      if (typeof e === 'string') return e;
      return new Capture(response, id, e);
    },
  },
  {
    name: 'set-log-level', sets: ['http-request', 'http-response', 'http-after-response', 'tcp-request content', 'tcp-response content'],
    usage: 'set-log-level <level>',
    parse(words: string[]) {
      if (words.length !== 2) return `expects exactly 1 argument (<level>)`;
      const l = LEVELS[words[1]];
      if (l === undefined) return `unsupported log level '${words[1]}' (expects one of ${Object.keys(LEVELS).join(', ')})`;
      return new SetLogLevel(l);
    },
  },
  {
    name: 'set-timeout', sets: ['http-request', 'http-response', 'tcp-request content'],
    usage: 'set-timeout { server | tunnel } { <timeout> | <expr> }',
    parse(words: string[], env: ActionEnv) {
      const which = words[1];
      if (which !== 'server' && which !== 'tunnel') return `expects 'server' or 'tunnel' (got '${which ?? ''}')`;
      if (words.length !== 3) return `expects { server | tunnel } { <timeout> | <expr> }`;
      const t = parseTime(words[2]);
      if (t.ok) {
        if (t.value <= 0) return 'timeout must be greater than zero';
        return new SetTimeout(which, t.value, null);
      }
      const e = compileSampleExpr(words[2], env);
      if (typeof e === 'string') return e;
      return new SetTimeout(which, 0, e);
    },
  },
  {
    name: 'set-src', sets: HTTP_AND_TCP, usage: 'set-src <expr>',
    parse(words: string[], env: ActionEnv) {
      if (words.length < 2) return 'expects a sample expression';
      const e = compileSampleExpr(words.slice(1).join(' '), env);
      return typeof e === 'string' ? e : new SetAddress('src', e);
    },
  },
  {
    name: 'set-dst', sets: HTTP_AND_TCP, usage: 'set-dst <expr>',
    parse(words: string[], env: ActionEnv) {
      if (words.length < 2) return 'expects a sample expression';
      const e = compileSampleExpr(words.slice(1).join(' '), env);
      return typeof e === 'string' ? e : new SetAddress('dst', e);
    },
  },
]);
