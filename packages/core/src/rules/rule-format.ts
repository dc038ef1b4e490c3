/**
 * Log-format strings used by rules (set-header values, redirect locations,
 * reply bodies and headers, http-error pages...): HAProxy's LOG_OPT_HTTP
 * formats, compiled once by compileLogFormat() in rule mode and rendered per
 * request.
 *
 * Most such formats hold only literal text and `%[...]` samples
 * (`%[req.hdr(host),lower]`, `static`, `/v2%[path]`). Those are rendered
 * here, literal by literal and sample by sample, without going through the
 * log line renderer; anything else (%ci, %ID, %T...) uses renderLogFormat().
 * Both give the same text: test/rule-format.test.ts compares them.
 *
 * fieldValue() also answers whether the text may be a header field value
 * (no CR, LF or NUL, latin1 only; RFC 9110 §5.5): literals are checked once,
 * here, and a sample's text is checked while it is escaped, so a value is
 * never scanned twice.
 */
import { compileLogFormat, renderLogFormat, EMPTY_LOG_RECORD, type CompiledLogFormat } from '../log/log-format';
import { sampleText, type CompileEnv, type SampleExpr } from './sample';
import type { RuleHost } from './rule-set';

const HEX = '0123456789ABCDEF';

/** A character of a sample written %XX in rule mode: 0x00-0x08, 0x0A-0x1F, 0x7F (log-format.ts httpEncode()). */
function escaped(c: number): boolean {
  return c <= 0x08 || (c >= 0x0a && c <= 0x1f) || c === 0x7f;
}

/** Set by ruleEncode() when the text held a character above 0xff (not latin1: no field value). */
let wide = false;

/**
 * A sample's text as rule mode writes it (log-format.ts httpEncode(): the
 * control characters above as %XX), noting in `wide` a character that is
 * not latin1. Allocates only when something is escaped.
 */
function ruleEncode(s: string): string {
  let out = '';
  let run = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) { wide = true; continue; }
    if (escaped(c)) {
      out += s.slice(run, i) + '%' + HEX[(c >> 4) & 15] + HEX[c & 15];
      run = i + 1;
    }
  }
  return run === 0 ? s : out + s.slice(run);
}

/** Is `v` a valid field value (no CR, LF, NUL; latin1)? headers.ts isValidHeaderValue(), for literals. */
function fieldSafe(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0 || c > 0xff) return false;
  }
  return true;
}

export class RuleFormat {
  /** The text, when the format holds neither variable nor sample. */
  private readonly constant: string | null;
  /**
   * Literal-and-sample formats: one entry per node, the literal (expression
   * null) or the expression (literal ''); null for other formats.
   */
  private readonly lits: readonly string[] | null;
  private readonly exprs: ReadonlyArray<SampleExpr | null> | null;
  private readonly nodes: number;
  /** Every literal may be part of a field value. */
  private readonly litsSafe: boolean;

  constructor(readonly f: CompiledLogFormat) {
    const simple = f.needsRecord !== true && f.rule === true;
    this.constant = simple && f.exprs === undefined ? renderLogFormat(f, EMPTY_LOG_RECORD) : null;
    // In rule mode, a format that reads no record holds literals and samples only (no SEP nodes).
    this.lits = simple ? f.texts : null;
    this.exprs = simple ? (f.exprs ?? null) : null;
    this.nodes = f.codes.length;
    let safe = true;
    for (const t of f.texts) if (!fieldSafe(t)) safe = false;
    this.litsSafe = safe;
  }

  /** Is the text the same for every request? */
  get isConstant(): boolean {
    return this.constant !== null;
  }

  /** The text for this request. */
  render(host: RuleHost): string {
    if (this.constant !== null) return this.constant;
    if (this.lits !== null) return this.renderParts(host);
    const f = this.f;
    return renderLogFormat(f, f.needsRecord === true ? host.logRecord() : EMPTY_LOG_RECORD, host);
  }

  /** The text for this request as a header field value, null when it cannot be one (CR, LF, NUL, non-latin1). */
  fieldValue(host: RuleHost): string | null {
    const c = this.constant;
    if (c !== null) return this.litsSafe ? c : null;
    if (this.lits !== null) {
      wide = false;
      const v = this.renderParts(host);
      return this.litsSafe && !wide ? v : null;
    }
    const v = this.render(host);
    return fieldSafe(v) ? v : null;
  }

  /** renderLogFormat() for a literal-and-sample format: literals as they are, samples escaped, a missing sample as nothing. */
  private renderParts(host: RuleHost): string {
    const lits = this.lits!;
    const exprs = this.exprs;
    let out = '';
    for (let k = 0; k < this.nodes; k++) {
      const e = exprs === null ? null : exprs[k];
      if (e === null) { out += lits[k]; continue; }
      const smp = e.eval(host);
      if (smp === null) continue;
      const t = sampleText(smp);
      if (t !== null && t.length !== 0) out += ruleEncode(t);
    }
    return out;
  }
}

/** Compiles a rule's log-format `text` (rule mode, HTTP variables allowed); an error text when it does not parse. */
export function compileRuleFormat(text: string, env: CompileEnv): RuleFormat | string {
  const r = compileLogFormat(text, { http: true, rule: true, env });
  return r.ok ? new RuleFormat(r.fmt) : r.error;
}
