/**
 * Config lexer: cuts each line into words (quotes, escapes, "${ENV}") and runs
 * the conditional-block directives (.if/.elif/.else/.endif) and the message
 * directives (.diag/.notice/.warning/.alert). The rules follow HAProxy 2.6
 * (configuration.txt sections 2.2-2.4), and where the manual and the binary
 * disagree we follow the binary (2.6.12, checked with `haproxy -c` / `-cc`):
 *  - "\<TAB>" is not an escape (a backslash then a separator), although the
 *    manual's table lists it;
 *  - "\$" is only an escape inside double quotes, unquoted it stays "\$";
 *  - "$VAR" is only expanded inside double quotes;
 *  - a raw CR ends the line (so CRLF files work), except when it follows a
 *    separator, where it is skipped like any other white space.
 */
import { Diagnostics } from './diagnostics';
// condition.ts imports tokenizeLine from here: the cycle is safe because
// neither module uses the other while it is being loaded.
import { evaluateConditionExpr } from './condition';

export interface ConfigLine {
  file: string;
  line: number;
  words: string[];
}

export interface LexOptions {
  /** Usually process.env. */
  env: Record<string, string | undefined>;
  /** Names usable in feature(NAME), e.g. 'OPENSSL', 'LINUX_SPLICE'. */
  features: ReadonlySet<string>;
  /** HAProxy config level we implement, e.g. '2.6', used by version_atleast/version_before. */
  version: string;
  /**
   * Keywords that open a section, only used to resolve "$.SECTION".
   * Defaults to HAProxy 2.6's registered sections.
   */
  sectionKeywords?: ReadonlySet<string>;
}

/** Section keywords registered by HAProxy 2.6 (REGISTER_CONFIG_SECTION). */
const SECTION_KEYWORDS: ReadonlySet<string> = new Set([
  'global', 'defaults', 'frontend', 'backend', 'listen', 'userlist', 'peers', 'resolvers',
  'mailers', 'program', 'http-errors', 'ring', 'cache', 'fcgi-app', 'log-forward', 'namespace_list',
]);

/** HAProxy's MAXNESTEDCONDS: a 100th nested .if is refused. */
const MAX_NESTED_CONDS = 100;

export interface TokenizeOptions {
  env: Record<string, string | undefined>;
  /** '#' starts a comment (config files); `-cc` conditions have no comments. */
  comments: boolean;
  /** Values of the pseudo-variables $.FILE, $.LINE, $.SECTION (undefined: not set). */
  file?: string;
  line: number;
  section?: string;
}

export type TokenizeResult =
  /**
   * `args` is HAProxy's argument list: the last element always exists and is
   * empty when the line ends with a separator (or is blank). `lastQuoted` says
   * whether that last element was opened by a quote (so `""` is a real word).
   */
  | { ok: true; args: string[]; lastQuoted: boolean }
  /** `pos` is the 0-based offset of the offending character in the text. */
  | { ok: false; reason: string; pos: number };

function isSpace(c: string | undefined): boolean {
  // C isspace() in the C locale; '\n' and '\r' only matter while skipping separators.
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
}

function isAlpha(c: string | undefined): boolean {
  return c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

function isAlnum(c: string | undefined): boolean {
  return isAlpha(c) || (c !== undefined && c >= '0' && c <= '9');
}

function isHex(c: string | undefined): boolean {
  return c !== undefined && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * HAProxy emits "\xNN" as a raw byte. Our words are JS strings, so a run of
 * escaped bytes >= 0x80 is decoded as UTF-8 when it is valid ("\xc3\xa9" is
 * "é"), otherwise each byte becomes the code point of the same value.
 */
function decodeBytes(bytes: number[]): string {
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return String.fromCharCode(...bytes);
  }
}

/**
 * Cuts one line into words with HAProxy's parse_line() rules (as used by
 * readcfgfile() and by `haproxy -cc`). `start` is where to begin (after any
 * leading white space the caller skipped, which still counts for positions).
 * Stops at the end of `text`, at '\n', at a CR that is not after a separator,
 * at NUL and, when comments are on, at an unprotected '#'.
 */
export function tokenizeLine(text: string, start: number, o: TokenizeOptions): TokenizeResult {
  const n = text.length;
  const args: string[] = [];
  let cur = '';
  let started = false; // the current word was opened by a quote
  let bytes: number[] | null = null; // pending "\xNN" bytes >= 0x80
  let squote = false;
  let dquote = false;
  let quotePos = -1;
  let i = start;

  const flush = (): void => {
    if (bytes) {
      cur += decodeBytes(bytes);
      bytes = null;
    }
  };
  const emit = (s: string): void => {
    if (bytes) flush();
    cur += s;
  };
  const endWord = (): void => {
    flush();
    args.push(cur);
    cur = '';
    started = false;
  };
  const fail = (reason: string, pos: number): TokenizeResult => ({ ok: false, reason, pos });

  while (i < n) {
    const c = text[i];
    if (c === '\n' || c === '\r' || c === '\0') break;
    if (c === '#' && o.comments && !squote && !dquote) break;

    if (c === '"' && !squote) {
      dquote = !dquote;
      if (dquote) {
        quotePos = i;
        started = true;
      }
      i++;
      continue;
    }
    if (c === "'" && !dquote) {
      squote = !squote;
      if (squote) {
        quotePos = i;
        started = true;
      }
      i++;
      continue;
    }

    if (c === '\\' && !squote) {
      const d = text[i + 1];
      switch (d) {
        case ' ':
        case '\\':
        case "'":
        case '"':
          emit(d);
          i += 2;
          continue;
        case 't':
          emit('\t');
          i += 2;
          continue;
        case 'n':
          emit('\n');
          i += 2;
          continue;
        case 'r':
          emit('\r');
          i += 2;
          continue;
        case '#':
          // "\#" is only an escape where '#' would start a comment.
          if (o.comments) {
            emit('#');
            i += 2;
          } else {
            emit('\\');
            i++;
          }
          continue;
        case '$':
          // "\$" is only an escape where '$' would expand: inside double quotes.
          if (dquote) {
            emit('$');
            i += 2;
          } else {
            emit('\\');
            i++;
          }
          continue;
        case 'x': {
          if (!isHex(text[i + 2]) || !isHex(text[i + 3])) {
            return fail('truncated or invalid hexadecimal sequence', i);
          }
          const b = parseInt(text.slice(i + 2, i + 4), 16);
          if (b < 0x80) emit(String.fromCharCode(b));
          else (bytes ??= []).push(b);
          i += 4;
          continue;
        }
        default:
          // Any other backslash is kept as is ("\1" stays "\1", a trailing "\" stays).
          emit('\\');
          i++;
          continue;
      }
    }

    if (isSpace(c) && !squote && !dquote) {
      while (i < n && isSpace(text[i])) i++;
      endWord();
      continue;
    }

    if (c === '$' && dquote) {
      i++;
      let braceAt = -1;
      if (text[i] === '{') braceAt = i++;
      const first = text[i];
      if (!isAlpha(first) && first !== '_' && first !== '.') {
        return fail('forbidden first char in environment variable name', i);
      }
      const nameAt = i;
      if (first === '.') i++;
      while (i < n && (isAlnum(text[i]) || text[i] === '_')) i++;
      const name = text.slice(nameAt, i);

      let value: string | undefined;
      if (first === '.') {
        if (name === '.LINE') value = String(o.line);
        else if (name === '.FILE') value = o.file;
        else if (name === '.SECTION') value = o.section;
        else return fail(`unknown pseudo-variable '${name}' (only .FILE, .LINE and .SECTION exist)`, nameAt);
      } else {
        value = o.env[name];
      }

      // "${VAR[*]}": split the value on white space into several words.
      let expand = false;
      if (braceAt >= 0 && text[i] === '[') {
        if (text[i + 1] !== '*' || text[i + 2] !== ']') {
          return fail("truncated or invalid word expansion sequence (only '[*]' is supported)", i);
        }
        expand = true;
        i += 3;
      }

      if (braceAt >= 0) {
        if (text[i] === '-') {
          // The default is raw text up to the first '}': no quote or escape processing.
          const close = text.indexOf('}', i);
          if (close < 0) return fail('unmatched brace in environment variable name', braceAt);
          // Only an unset variable takes the default, an empty one does not.
          if (value === undefined) value = text.slice(i + 1, close);
          i = close + 1;
        } else if (text[i] === '}') {
          i++;
        } else {
          return fail('unmatched brace in environment variable name', braceAt);
        }
      }

      if (value) {
        if (!expand) {
          emit(value);
        } else {
          let k = 0;
          while (k < value.length) {
            if (isSpace(value[k])) {
              endWord();
              while (k < value.length && isSpace(value[k])) k++;
            } else {
              let e = k + 1;
              while (e < value.length && !isSpace(value[e])) e++;
              emit(value.slice(k, e));
              k = e;
            }
          }
        }
      }
      continue;
    }

    // Plain run of ordinary characters.
    let e = i + 1;
    while (e < n) {
      const x = text[e];
      if (x === '\\' || x === '"' || x === "'" || x === '$' || x === '#' || x === '\0' || isSpace(x)) break;
      e++;
    }
    emit(text.slice(i, e));
    i = e;
  }

  if (squote || dquote) return fail('unmatched quote', quotePos);
  const lastQuoted = started;
  endWord();
  return { ok: true, args, lastQuoted };
}

/** The words of a tokenized line: HAProxy's args without the trailing terminator. */
export function wordsOf(args: string[], lastQuoted: boolean): string[] {
  return args[args.length - 1] === '' && !lastQuoted ? args.slice(0, -1) : args;
}

/**
 * State of one .if level, as in cfgparse.c: TAKE is the branch in use, DROP a
 * branch whose condition was false (a later one may still be taken), SKIP a
 * branch after the taken one or inside a dropped parent (never taken).
 */
const enum Cond {
  IfTake,
  IfDrop,
  IfSkip,
  ElifTake,
  ElifDrop,
  ElifSkip,
  ElseTake,
  ElseDrop,
}

function isActive(c: Cond): boolean {
  return c === Cond.IfTake || c === Cond.ElifTake || c === Cond.ElseTake;
}

/** What to do after a line: go on, stop reading (still checking .if/.endif balance), or stop at once. */
const enum Next {
  Continue,
  Stop,
  Abort,
}

class Lexer {
  readonly out: ConfigLine[] = [];
  /** conds[k] is the state of nesting level k+1. */
  readonly conds: Cond[] = [];
  section: string | undefined = undefined;
  readonly sections: ReadonlySet<string>;

  constructor(
    readonly file: string,
    readonly diag: Diagnostics,
    readonly opts: LexOptions,
  ) {
    this.sections = opts.sectionKeywords ?? SECTION_KEYWORDS;
  }

  private active(): boolean {
    const n = this.conds.length;
    return n === 0 || isActive(this.conds[n - 1]);
  }

  line(text: string, lineNo: number): Next {
    const { file, diag } = this;
    let i = 0;
    while (i < text.length && isSpace(text[i])) i++;

    // "[name]" lines declare a scope (used by SPOE files); HAProxy reads them
    // before tokenizing, even in skipped blocks, and they yield no words.
    if (text[i] === '[') return this.scope(text, i, lineNo);

    const r = tokenizeLine(text, i, {
      env: this.opts.env,
      comments: true,
      file,
      line: lineNo,
      section: this.section,
    });
    // Tokenizing errors are reported even inside skipped blocks, as HAProxy does.
    if (!r.ok) {
      diag.error(file, lineNo, '', `${r.reason} at position ${r.pos + 1}`);
      return Next.Continue;
    }
    const { args } = r;
    // An empty first word makes the whole line empty (HAProxy tests args[0] only).
    if (args[0] === '') return Next.Continue;
    const words = wordsOf(args, r.lastQuoted);
    const kw = words[0];

    if (kw[0] === '.') {
      switch (kw) {
        case '.if':
          return this.directiveIf(args, lineNo);
        case '.elif':
          return this.directiveElif(args, lineNo);
        case '.else':
          return this.directiveElse(args, lineNo);
        case '.endif':
          return this.directiveEndif(args, lineNo);
      }
    }

    if (!this.active()) return Next.Continue;

    if (kw[0] === '.') return this.directiveMessage(kw, args, lineNo);

    if (this.sections.has(kw)) this.section = words[1] ? words[1] : kw;
    this.out.push({ file, line: lineNo, words });
    return Next.Continue;
  }

  /**
   * The condition text of .if/.elif: HAProxy joins all words after the
   * directive with single spaces (so `streq(a b,"a b")` is true), including the
   * empty terminator that a trailing separator leaves.
   */
  private conditionText(args: string[]): string {
    return args.slice(1).join(' ');
  }

  private evaluate(kw: string, args: string[], lineNo: number): boolean | undefined {
    const r = evaluateConditionExpr(this.conditionText(args), this.opts);
    if ('error' in r) {
      this.diag.error(this.file, lineNo, kw, `${r.error} at position ${r.pos + 1}`);
      return undefined;
    }
    return r.value;
  }

  private directiveIf(args: string[], lineNo: number): Next {
    const { conds } = this;
    if (conds.length + 1 >= MAX_NESTED_CONDS) {
      this.diag.error(this.file, lineNo, '.if', `too many nested '.if', max is ${MAX_NESTED_CONDS}`);
      return Next.Abort;
    }
    // Inside a block that is not taken the condition is not even evaluated.
    if (!this.active()) {
      conds.push(Cond.IfSkip);
      return Next.Continue;
    }
    const v = this.evaluate('.if', args, lineNo);
    // A broken condition leaves the rest of the file meaningless: HAProxy stops here.
    if (v === undefined) return Next.Abort;
    conds.push(v ? Cond.IfTake : Cond.IfDrop);
    return Next.Continue;
  }

  private directiveElif(args: string[], lineNo: number): Next {
    const { conds } = this;
    const top = conds.length - 1;
    if (top < 0) {
      this.diag.error(this.file, lineNo, '.elif', "lone '.elif' with no matching '.if'");
      return Next.Abort;
    }
    const c = conds[top];
    if (c === Cond.ElseTake || c === Cond.ElseDrop) {
      this.diag.error(this.file, lineNo, '.elif', "'.elif' after '.else' is not permitted");
      return Next.Abort;
    }
    if (c === Cond.IfTake || c === Cond.IfSkip || c === Cond.ElifTake || c === Cond.ElifSkip) {
      conds[top] = Cond.ElifSkip;
      return Next.Continue;
    }
    const v = this.evaluate('.elif', args, lineNo);
    if (v === undefined) return Next.Abort;
    conds[top] = v ? Cond.ElifTake : Cond.ElifDrop;
    return Next.Continue;
  }

  private directiveElse(args: string[], lineNo: number): Next {
    const { conds } = this;
    if (args[1]) {
      this.diag.error(this.file, lineNo, '.else', `unexpected argument '${args[1]}' for '.else'`);
      return Next.Stop;
    }
    const top = conds.length - 1;
    if (top < 0) {
      this.diag.error(this.file, lineNo, '.else', "lone '.else' with no matching '.if'");
      return Next.Abort;
    }
    const c = conds[top];
    if (c === Cond.ElseTake || c === Cond.ElseDrop) {
      this.diag.error(this.file, lineNo, '.else', "'.else' after '.else' is not permitted");
      return Next.Abort;
    }
    conds[top] = c === Cond.IfDrop || c === Cond.ElifDrop ? Cond.ElseTake : Cond.ElseDrop;
    return Next.Continue;
  }

  private directiveEndif(args: string[], lineNo: number): Next {
    if (args[1]) {
      this.diag.error(this.file, lineNo, '.endif', `unexpected argument '${args[1]}' for '.endif'`);
      return Next.Stop;
    }
    if (this.conds.length === 0) {
      this.diag.error(this.file, lineNo, '.endif', "lone '.endif' with no matching '.if'");
      return Next.Stop;
    }
    this.conds.pop();
    return Next.Continue;
  }

  /** .alert/.warning/.notice/.diag "message", in taken blocks only. */
  private directiveMessage(kw: string, args: string[], lineNo: number): Next {
    const { file, diag } = this;
    const kind = kw === '.alert' || kw === '.warning' || kw === '.notice' || kw === '.diag';
    if (!kind) {
      // Nothing else starts with a dot; HAProxy stops reading the file here.
      diag.error(file, lineNo, kw, `unknown directive '${kw}'`);
      return Next.Stop;
    }
    if (args[2]) {
      diag.error(file, lineNo, kw, `unexpected argument '${args[2]}' for '${kw}'. Use quotes if the message should contain spaces`);
      return Next.Continue;
    }
    // HAProxy prints the message quoted: "parsing [file:line]: 'message'."
    const reason = `'${args[1] ?? ''}'`;
    switch (kw) {
      case '.alert':
        // Always fatal, and HAProxy stops parsing at once.
        diag.error(file, lineNo, '', reason);
        return Next.Abort;
      case '.warning':
        diag.warn(file, lineNo, '', reason);
        break;
      case '.notice':
        diag.notice(file, lineNo, '', reason);
        break;
      default:
        // HAProxy only shows these in diagnostic mode (-dD): keep them with
        // their own severity so the CLI can filter them.
        diag.items.push({ severity: 'diag', file, line: lineNo, keyword: '', reason });
        break;
    }
    return Next.Continue;
  }

  /**
   * Checks a "[scope]" line the way cfg_parse_scope() does: an empty name is
   * an error, a bad character in or after the name also stops the reading.
   */
  private scope(text: string, at: number, lineNo: number): Next {
    const { file, diag } = this;
    const end = text.indexOf(']', at + 1);
    if (end < 0 || end === at + 1) {
      diag.error(file, lineNo, '', 'empty scope name is forbidden');
      return Next.Continue;
    }
    for (let k = at + 1; k < end; k++) {
      const c = text[k];
      if (!isAlnum(c) && c !== '.' && c !== ':' && c !== '_' && c !== '-') {
        diag.error(file, lineNo, '', `character '${c}' is not permitted in a scope name`);
        return Next.Abort;
      }
    }
    let k = end + 1;
    while (k < text.length && isSpace(text[k])) k++;
    if (k < text.length && text[k] !== '#') {
      diag.error(file, lineNo, '', `character '${text[k]}' is not permitted after scope declaration`);
      return Next.Abort;
    }
    return Next.Continue;
  }
}

/**
 * Cuts a configuration file into lines of words, keeping only the lines of
 * taken conditional blocks. Errors go to `diag` with file:line; a line that
 * fails to tokenize is dropped. Like HAProxy, a broken .if/.elif/.else
 * structure, an unknown directive or an .alert stops the reading of the file
 * (what follows would be interpreted against the wrong blocks).
 */
export function lexConfig(text: string, file: string, diag: Diagnostics, opts: LexOptions): ConfigLine[] {
  const lx = new Lexer(file, diag, opts);
  const n = text.length;
  let pos = 0;
  let lineNo = 0;
  let next: Next = Next.Continue;

  while (pos < n) {
    let eol = text.indexOf('\n', pos);
    const hasLF = eol >= 0;
    if (!hasLF) eol = n;
    let line = text.slice(pos, eol);
    pos = eol + 1;
    lineNo++;

    // A NUL cannot be part of a C config line: HAProxy uses the line up to it,
    // then refuses the rest of the file.
    const nul = line.indexOf('\0');
    if (nul >= 0) line = line.slice(0, nul);

    next = lx.line(line, lineNo);
    if (next === Next.Abort) return lx.out;
    if (next === Next.Stop) break;
    if (nul >= 0) {
      diag.error(file, lineNo, '', `stray NUL character at position ${nul + 1}`);
      break;
    }
    // HAProxy 2.6 makes this fatal to detect truncated files; we only warn so
    // that configs built in memory without a final newline stay usable.
    if (!hasLF) diag.warn(file, lineNo, '', 'missing LF on last line, file might have been truncated');
  }

  if (lx.conds.length > 0) {
    diag.error(file, lineNo, '.if', "non-terminated '.if' block");
  }
  return lx.out;
}
