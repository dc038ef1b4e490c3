/**
 * Config lexer: words, quotes, escapes, environment, conditional blocks and
 * message directives. Cases marked "haproxy 2.6.12:" were run through
 * `haproxy -c -f` (usually as `.notice <word>`, which prints the word) and
 * the comment quotes what it printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lexConfig, tokenizeLine, type ConfigLine, type LexOptions } from '../src/config/lexer';
import { Diagnostics, type ConfigDiagnostic } from '../src/config/diagnostics';

const ENV: Record<string, string | undefined> = {
  FOO: 'x',
  EMPTY: '',
  LIST: 'a  b',
  SP: ' a ',
  ONE: '1',
  ZERO: '0',
  COND: '1 && 0',
};

function opts(env: Record<string, string | undefined> = ENV): LexOptions {
  return { env, features: new Set(['OPENSSL', 'LINUX_SPLICE']), version: '2.6' };
}

function lex(text: string, env?: Record<string, string | undefined>): { lines: ConfigLine[]; diag: Diagnostics } {
  const diag = new Diagnostics();
  const lines = lexConfig(text, 'test.cfg', diag, opts(env));
  return { lines, diag };
}

/** Words of a single-line config, failing on any diagnostic. */
function words(line: string, env?: Record<string, string | undefined>): string[] {
  const { lines, diag } = lex(line + '\n', env);
  assert.deepEqual(diag.items, []);
  assert.equal(lines.length, 1);
  return lines[0].words;
}

/** All words of all lines. */
function allWords(text: string, env?: Record<string, string | undefined>): string[][] {
  return lex(text, env).lines.map((l) => l.words);
}

function errors(d: Diagnostics): ConfigDiagnostic[] {
  return d.items.filter((i) => i.severity === 'alert');
}

// ------------------------------------------------------------ lines and words

test('comments, blank lines and 1-based line numbers', () => {
  const { lines, diag } = lex('# header\n\nglobal#comment\n\t  daemon   # trailing\n   \n  maxconn  100\n');
  assert.deepEqual(diag.items, []);
  assert.deepEqual(lines, [
    { file: 'test.cfg', line: 3, words: ['global'] },
    { file: 'test.cfg', line: 4, words: ['daemon'] },
    { file: 'test.cfg', line: 6, words: ['maxconn', '100'] },
  ]);
});

test('words are split on spaces, tabs and other C white space', () => {
  assert.deepEqual(words('a b\tc  \t d'), ['a', 'b', 'c', 'd']);
  // haproxy 2.6.12: ".notice a<FF>b" -> "Unexpected argument 'b'" (form feed and VT separate words)
  assert.deepEqual(words('a\fb\vc'), ['a', 'b', 'c']);
});

test('CRLF line ends are accepted; a CR in the middle of a line ends it', () => {
  assert.deepEqual(allWords('global\r\n  daemon\r\n'), [['global'], ['daemon']]);
  // haproxy 2.6.12: ".notice a<CR>b c" printed 'a'
  assert.deepEqual(words('x a\rb c'), ['x', 'a']);
  // ...but after a separator the CR is skipped as white space: ".notice a <CR>b" -> "Unexpected argument 'b'"
  assert.deepEqual(words('x a \rb'), ['x', 'a', 'b']);
});

test('a line whose first word is empty is ignored', () => {
  // haproxy 2.6.12: '"" .notice x' printed nothing, '".notice" "y"' printed 'y'
  const { lines, diag } = lex('"" foo bar\n"$EMPTY" baz\n".notice" "y"\n');
  assert.deepEqual(lines, []);
  assert.equal(diag.items.length, 1);
  assert.equal(diag.items[0].reason, "'y'");
});

// ------------------------------------------------------------ quoting

test('adjacent quoted and unquoted parts join into one word', () => {
  // haproxy 2.6.12: .notice X"a"'b'c printed 'Xabc'
  assert.deepEqual(words(`X"a"'b'c`), ['Xabc']);
  assert.deepEqual(words(`log-format "%{+Q}o %t"' %s'\\ %{-Q}r`), ['log-format', '%{+Q}o %t %s %{-Q}r']);
});

test('quotes protect spaces and hashes', () => {
  // haproxy 2.6.12: .notice "#"'#'\# printed '###'; .notice "a"#c printed 'a'
  assert.deepEqual(words(`k "a b" 'c # d' "#"'#'\\#`), ['k', 'a b', 'c # d', '###']);
  assert.deepEqual(words('k "a"#c'), ['k', 'a']);
  assert.deepEqual(words('k a#b'), ['k', 'a']);
});

test('an empty quoted string is a word, trailing blanks are not', () => {
  assert.deepEqual(words('k "" v'), ['k', '', 'v']);
  assert.deepEqual(words("k ''"), ['k', '']);
  assert.deepEqual(words('k ""  '), ['k', '']);
  assert.deepEqual(words('k v   '), ['k', 'v']);
});

test('single quotes are literal', () => {
  // haproxy 2.6.12: .notice 'a\x41' printed 'a\x41'; '$FOO' printed '$FOO'
  assert.deepEqual(words(`k 'a\\x41 \\' '$FOO' '\\n'`), ['k', 'a\\x41 \\', '$FOO', '\\n']);
  assert.deepEqual(words(`k '"'`), ['k', '"']);
});

test('backslash escapes outside quotes', () => {
  // haproxy 2.6.12: .notice a\ b\#c\\d\x41\q printed 'a b#c\dA\q'
  assert.deepEqual(words('k a\\ b\\#c\\\\d\\x41\\q'), ['k', 'a b#c\\dA\\q']);
  assert.deepEqual(words(`k \\'\\"`), ['k', `'"`]);
  assert.deepEqual(words('k a\\tb\\nc\\rd'), ['k', 'a\tb\nc\rd']);
  assert.deepEqual(words('k \\x20\\x7e\\x5C'), ['k', ' ~\\']);
  // haproxy 2.6.12: unquoted \$FOO printed '\$FOO' ("\$" is only an escape inside double quotes)
  assert.deepEqual(words('k \\$FOO'), ['k', '\\$FOO']);
  // haproxy 2.6.12: .notice a\ followed by CRLF printed 'a\' (a trailing backslash stays)
  assert.deepEqual(words('k a\\'), ['k', 'a\\']);
  // haproxy 2.6.12: ".notice a\<TAB>b" -> "Unexpected argument 'b'": "\<TAB>" is no escape
  // (the manual's table says it is; the binary wins)
  assert.deepEqual(words('k a\\\tb'), ['k', 'a\\', 'b']);
});

test('backslash escapes inside double quotes', () => {
  // haproxy 2.6.12: .notice "a\ b\#c\\d\x41\q\t|" printed 'a b#c\dA\q<TAB>|'
  assert.deepEqual(words('k "a\\ b\\#c\\\\d\\x41\\q\\t|"'), ['k', 'a b#c\\dA\\q\t|']);
  // haproxy 2.6.12: "a\"b" printed 'a"b', "a\'b" printed "a'b", "\$FOO" printed '$FOO'
  assert.deepEqual(words(`k "a\\"b" "a\\'b" "\\$FOO"`), ['k', 'a"b', "a'b", '$FOO']);
});

test('\\xNN bytes of a UTF-8 sequence make one character', () => {
  // haproxy 2.6.12: .notice "caf\xc3\xa9" printed 'café'
  assert.deepEqual(words('k "caf\\xc3\\xa9" \\xe9t\\xE9'), ['k', 'café', '\u00e9t\u00e9']);
});

test('unterminated quotes are errors with file:line and position; the line is dropped', () => {
  // haproxy 2.6.12: "parsing [t.cfg:2]: unmatched quote at position 11"
  const { lines, diag } = lex('global\n  .notice "abc\n  daemon\nfoo \'bar\n');
  assert.deepEqual(lines.map((l) => l.words), [['global'], ['daemon']]);
  assert.deepEqual(
    errors(diag).map((e) => [e.file, e.line, e.reason]),
    [
      ['test.cfg', 2, 'unmatched quote at position 11'],
      ['test.cfg', 4, 'unmatched quote at position 5'],
    ],
  );
  // a raw CR inside quotes ends the line too (haproxy 2.6.12: unmatched quote)
  assert.equal(errors(lex('k "a\rb"\n').diag).length, 1);
});

test('bad \\x escapes are errors', () => {
  // haproxy 2.6.12: ".notice a\x4" -> "truncated or invalid hexadecimal sequence at position 12"
  const { lines, diag } = lex('  .notice a\\x4\nk "\\x4g"\nk \'\\x4g\'\n');
  assert.deepEqual(lines.map((l) => l.words), [['k', '\\x4g']]);
  assert.deepEqual(
    errors(diag).map((e) => [e.line, e.reason]),
    [
      [1, 'truncated or invalid hexadecimal sequence at position 12'],
      [2, 'truncated or invalid hexadecimal sequence at position 4'],
    ],
  );
});

// ------------------------------------------------------------ environment

test('environment variables expand inside double quotes only', () => {
  // haproxy 2.6.12: $HOME printed '$HOME', "$HOME" printed '/root', '$HOME' printed '$HOME'
  assert.deepEqual(words(`k $FOO "$FOO" '$FOO' "\${FOO}" \${FOO}`), ['k', '$FOO', 'x', '$FOO', 'x', '${FOO}']);
  // haproxy 2.6.12: "$FOO"$FOO'$FOO' printed 'x$FOO$FOO'
  assert.deepEqual(words(`k "$FOO"$FOO'$FOO' "$FOO$FOO\${FOO}"`), ['k', 'x$FOO$FOO', 'xxx']);
});

test('variable names end at the first character that is not alphanumeric or _', () => {
  // haproxy 2.6.12: "$FOO-y" printed 'x-y'
  assert.deepEqual(words('k "$FOO-y" "$FOO.y" "$_U1"', { FOO: 'x', _U1: 'u' }), ['k', 'x-y', 'x.y', 'u']);
});

test('undefined variables expand to nothing', () => {
  assert.deepEqual(words('k "a${NOPE}b" "$NOPE" c'), ['k', 'ab', '', 'c']);
});

test('${VAR-default} only replaces unset variables, not empty ones', () => {
  // haproxy 2.6.12: "${FOO-de fault}" printed 'de fault' when unset, '' when FOO=""
  assert.deepEqual(words('k "${NOPE-de fault}" "${EMPTY-d}" "${FOO-d}"'), ['k', 'de fault', '', 'x']);
  // The default is raw text up to '}': haproxy 2.6.12 "${FOO-a"b}" printed 'a"b', "${FOO-a\x41}" printed 'a\x41'
  assert.deepEqual(words('k "${NOPE-a"b}" "${NOPE-a\\x41}"'), ['k', 'a"b', 'a\\x41']);
});

test('"${VAR[*]}" splits the value into several words', () => {
  // haproxy 2.6.12 with LIST="a  b": "${LIST[*]}" -> "Unexpected argument 'b'"
  assert.deepEqual(words('k "${LIST[*]}"'), ['k', 'a', 'b']);
  // haproxy 2.6.12 with SP=" a": x"${SP[*]}"y -> args 'x' and 'ay'
  assert.deepEqual(words('k x"${SP[*]}"y', { SP: ' a' }), ['k', 'x', 'ay']);
  assert.deepEqual(words('k x"${SP[*]}"y'), ['k', 'x', 'a', 'y']);
  assert.deepEqual(words('k "${SP[*]}"'), ['k', '', 'a']);
  assert.deepEqual(words('k "${NOPE[*]-p q}" r'), ['k', 'p', 'q', 'r']);
  assert.deepEqual(words('k "${EMPTY[*]}" r'), ['k', '', 'r']);
  // Without braces "[*]" is plain text; haproxy 2.6.12 "$LIST[*]" printed 'a  b[*]'
  assert.deepEqual(words('k "$LIST[*]" ${LIST[*]}'), ['k', 'a  b[*]', '${LIST[*]}']);
});

test('environment expansion errors', () => {
  const cases: Array<[string, string]> = [
    // haproxy 2.6.12: forbidden first char in environment variable name at position 13
    ['  .notice "$1"', 'forbidden first char in environment variable name at position 13'],
    ['k "${}"', 'forbidden first char in environment variable name at position 6'],
    // haproxy 2.6.12: "${FOO}y$" -> forbidden first char ... at position 20 (a '$' needs "\$")
    ['k "${FOO}y$"', 'forbidden first char in environment variable name at position 12'],
    // haproxy 2.6.12: unmatched brace in environment variable name at position 13
    ['  .notice "${FOO"', 'unmatched brace in environment variable name at position 13'],
    ['k "${FOO-abc"', 'unmatched brace in environment variable name at position 5'],
    // haproxy 2.6.12: truncated or invalid word expansion sequence at position 17
    ['  .notice "${FOO[x]}"', "truncated or invalid word expansion sequence (only '[*]' is supported) at position 17"],
    // haproxy 2.6.12: "$.FOO" -> forbidden first char ... at position 13
    ['  .notice "$.FOO"', "unknown pseudo-variable '.FOO' (only .FILE, .LINE and .SECTION exist) at position 13"],
  ];
  for (const [line, reason] of cases) {
    const { lines, diag } = lex(line + '\n');
    assert.deepEqual(lines, [], line);
    assert.deepEqual(errors(diag).map((e) => [e.line, e.reason]), [[1, reason]], line);
  }
});

test('pseudo-variables $.FILE, $.LINE and $.SECTION', () => {
  // haproxy 2.6.12: .notice "$.LINE $.FILE <$.SECTION>" on line 2 after "global" printed '2 t.cfg <global>';
  // "$.SECTION" is the section's name, or its keyword when it has none, and unset before any section.
  const { lines, diag } = lex(
    'k "<$.SECTION>" "${.SECTION-none}"\nglobal\n  k "$.LINE $.FILE <$.SECTION>"\nfrontend fe\n  k "$.SECTION"\ndefaults\n  k "$.SECTION"\n',
  );
  assert.deepEqual(diag.items, []);
  assert.deepEqual(
    lines.filter((l) => l.words[0] === 'k').map((l) => l.words.slice(1)),
    [['<>', 'none'], ['3 test.cfg <global>'], ['fe'], ['defaults']],
  );
});

// ------------------------------------------------------------ file level

test('a NUL character stops the file', () => {
  // haproxy 2.6.12: the line is used up to the NUL, then "Stray NUL character at position 12"
  const { lines, diag } = lex('global\n  .notice a\0b\n  daemon\n');
  assert.deepEqual(lines.map((l) => l.words), [['global']]);
  assert.deepEqual(diag.items.map((i) => [i.severity, i.line, i.reason]), [
    ['notice', 2, "'a'"],
    ['alert', 2, 'stray NUL character at position 12'],
  ]);
});

test('a missing final LF is a warning (HAProxy 2.6 makes it an alert)', () => {
  const { lines, diag } = lex('global\n  daemon');
  assert.deepEqual(lines.map((l) => l.words), [['global'], ['daemon']]);
  assert.deepEqual(diag.items.map((i) => [i.severity, i.line]), [['warning', 2]]);
  assert.deepEqual(lex('').lines, []);
  assert.deepEqual(lex('').diag.items, []);
});

test('[scope] lines are checked and yield no words', () => {
  // haproxy 2.6.12: "[]" -> "empty scope name is forbidden" and the file goes on;
  // "[a b]" or "[ab] x" stop it.
  assert.deepEqual(allWords('[foo]\nglobal\n[bar.1] # c\n'), [['global']]);
  let r = lex('[]\nglobal\n');
  assert.deepEqual(r.lines.map((l) => l.words), [['global']]);
  assert.deepEqual(errors(r.diag).map((e) => [e.line, e.reason]), [[1, 'empty scope name is forbidden']]);
  r = lex('[a b]\nglobal\n');
  assert.deepEqual(r.lines, []);
  assert.equal(errors(r.diag)[0].reason, "character ' ' is not permitted in a scope name");
  r = lex('[ab] x\nglobal\n');
  assert.deepEqual(r.lines, []);
  assert.equal(errors(r.diag)[0].reason, "character 'x' is not permitted after scope declaration");
});

// ------------------------------------------------------------ conditional blocks

test('.if/.elif/.else/.endif keep only the taken branch', () => {
  const text = [
    '.if 1', // 1
    '  a',
    '.else',
    '  b',
    '.endif',
    '.if 0', // 6
    '  c',
    '.elif 0',
    '  d',
    '.elif 1',
    '  e',
    '.elif 1',
    '  f',
    '.else',
    '  g',
    '.endif',
    '.if 0',
    '  h',
    '.else',
    '  i',
    '.endif',
    '  j',
  ].join('\n') + '\n';
  const { lines, diag } = lex(text);
  assert.deepEqual(diag.items, []);
  assert.deepEqual(lines.map((l) => [l.line, l.words[0]]), [[2, 'a'], [11, 'e'], [20, 'i'], [22, 'j']]);
});

test('nested blocks', () => {
  // haproxy 2.6.12 printed only 'b' for the first and 'd' for the second
  assert.deepEqual(
    allWords('.if 1\n.if 0\na\n.elif 1\nb\n.else\nc\n.endif\n.else\nd\n.endif\n'),
    [['b']],
  );
  assert.deepEqual(
    allWords('.if 0\n.if 1\na\n.else\nb\n.endif\nc\n.else\n.if 0\n.elif 0\n.else\nd\n.endif\n.endif\n'),
    [['d']],
  );
});

test('conditions use the environment and are the words joined by spaces', () => {
  assert.deepEqual(allWords('.if "$ONE"\na\n.endif\n.if "${ZERO}"\nb\n.elif "$ONE"\nc\n.endif\n'), [['a'], ['c']]);
  // haproxy 2.6.12: .if "1 && 0" took the .else; .if streq(a b,"a b") took the .if
  assert.deepEqual(allWords('.if "1 && 0"\nT\n.else\nF\n.endif\n'), [['F']]);
  assert.deepEqual(allWords('.if "$COND"\nT\n.else\nF\n.endif\n'), [['F']]);
  assert.deepEqual(allWords('.if streq(a b,"a b")\nT\n.else\nF\n.endif\n'), [['T']]);
  assert.deepEqual(allWords('.if 1 # comment\nT\n.endif\n'), [['T']]);
  assert.deepEqual(allWords('.if feature(OPENSSL) && (streq("$FOO",x) || streq("$NOPE",yes))\nT\n.endif\n'), [['T']]);
});

test('an empty condition is false, a blank one is an error', () => {
  // haproxy 2.6.12: ".if " is false; '.if "" ' (a trailing blank after an empty word)
  // is "unparsable conditional sub-expression ' '"
  assert.deepEqual(allWords('.if\nT\n.else\nF\n.endif\n'), [['F']]);
  assert.deepEqual(allWords('.if \nT\n.else\nF\n.endif\n'), [['F']]);
  assert.deepEqual(allWords('.if ""\nT\n.else\nF\n.endif\n'), [['F']]);
  const { diag } = lex('.if "" \n.endif\n');
  assert.equal(errors(diag).length, 1);
  assert.match(errors(diag)[0].reason, /unparsable conditional sub-expression ' '/);
});

test('lines inside skipped blocks are still tokenized, but not interpreted', () => {
  // haproxy 2.6.12: the "\x4" error of line 3 is reported; .bogus and the nested
  // '.if garbage(' are ignored; the '.elif garbage(' at the outer level is evaluated.
  const { lines, diag } = lex('global\n.if 0\n  k "\\x4"\n  .bogus\n  .alert "no"\n  .if garbage(\n  .endif\n.else\n  ok\n.endif\n');
  assert.deepEqual(lines.map((l) => l.words), [['global'], ['ok']]);
  assert.deepEqual(errors(diag).map((e) => e.line), [3]);
  // an .elif after a taken branch is not evaluated (haproxy 2.6.12: no error)
  assert.deepEqual(lex('.if 1\n.elif garbage(\n.endif\n').diag.items, []);
  const r = lex('.if 0\n.elif garbage(\n.endif\nafter\n');
  assert.deepEqual(r.lines, []);
  assert.deepEqual(errors(r.diag).map((e) => [e.line, e.keyword]), [[2, '.elif']]);
});

test('condition errors carry file:line, the directive and the position; reading stops', () => {
  // haproxy 2.6.12: "parsing [t.cfg:2]: unparsable conditional expression 'garbage(' in '.if' at position 1"
  const { lines, diag } = lex('global\n  .if garbage(\n daemon\n  .endif\n');
  assert.deepEqual(lines.map((l) => l.words), [['global']]);
  assert.deepEqual(diag.items, [
    {
      severity: 'alert',
      file: 'test.cfg',
      line: 2,
      keyword: '.if',
      reason: "unparsable conditional expression 'garbage(' at position 1",
    },
  ]);
  const r = lex('.if 1 && streq(a)\n.endif\n');
  assert.match(errors(r.diag)[0].reason, /missing arguments \(got 1\/2\).*predicate 'streq'.* at position \d+$/);
});

test('structure errors', () => {
  const cases: Array<[string, Array<[number, string]>]> = [
    // haproxy 2.6.12: "lone '.else' with no matching '.if'." and nothing after
    ['global\n.else\n  a\n', [[2, "lone '.else' with no matching '.if'"]]],
    ['global\n.endif\n  a\n', [[2, "lone '.endif' with no matching '.if'"]]],
    ['global\n.elif 1\n  a\n', [[2, "lone '.elif' with no matching '.if'"]]],
    ['global\n.if 1\n.else\n.elif 1\n.endif\n', [[4, "'.elif' after '.else' is not permitted"]]],
    ['global\n.if 1\n.else\n.else\n.endif\n', [[4, "'.else' after '.else' is not permitted"]]],
    // haproxy 2.6.12: "Unexpected argument 'foo' for '.else'." then "non-terminated '.if' block." at the same line
    ['global\n.if 1\n.else foo\n.endif\n  a\n', [[3, "unexpected argument 'foo' for '.else'"], [3, "non-terminated '.if' block"]]],
    ['global\n.if 1\n.endif foo\n  a\n', [[3, "unexpected argument 'foo' for '.endif'"], [3, "non-terminated '.if' block"]]],
  ];
  for (const [text, expected] of cases) {
    const { lines, diag } = lex(text);
    assert.deepEqual(errors(diag).map((e) => [e.line, e.reason]), expected, text);
    assert.ok(errors(diag).every((e) => e.file === 'test.cfg'));
    // the reading stopped at the error
    assert.ok(!lines.some((l) => l.words[0] === 'a'), text);
  }
  // haproxy 2.6.12: "parsing [t.cfg:3]: non-terminated '.if' block." (the last line)
  let r = lex('global\n.if 1\n  a\n');
  assert.deepEqual(r.lines.map((l) => l.words), [['global'], ['a']]);
  assert.deepEqual(errors(r.diag).map((e) => [e.file, e.line, e.reason]), [['test.cfg', 3, "non-terminated '.if' block"]]);
  r = lex('.if 1\n.if 0\n.endif\n\n# end\n');
  assert.deepEqual(errors(r.diag).map((e) => [e.line, e.reason]), [[5, "non-terminated '.if' block"]]);
  // `.else ""` has no (non-empty) argument: haproxy 2.6.12 accepts it
  assert.deepEqual(lex('.if 0\n.else ""\na\n.endif\n').lines.map((l) => l.words), [['a']]);
});

test('at most 99 nested .if', () => {
  const ok = '.if 1\n'.repeat(99) + 'a\n' + '.endif\n'.repeat(99);
  assert.deepEqual(lex(ok).lines.map((l) => l.words), [['a']]);
  assert.deepEqual(lex(ok).diag.items, []);
  const bad = '.if 1\n'.repeat(100) + 'a\n' + '.endif\n'.repeat(100);
  const { lines, diag } = lex(bad);
  assert.deepEqual(lines, []);
  assert.deepEqual(errors(diag).map((e) => [e.line, e.reason]), [[100, "too many nested '.if', max is 100"]]);
});

// ------------------------------------------------------------ message directives

test('.notice, .warning, .diag and .alert report their message at file:line', () => {
  const { lines, diag } = lex('global\n  .notice "n 1"\n  .warning w\n  .diag \'d\'\n  .notice\n  daemon\n');
  assert.deepEqual(lines.map((l) => l.words), [['global'], ['daemon']]);
  assert.deepEqual(diag.items, [
    { severity: 'notice', file: 'test.cfg', line: 2, keyword: '', reason: "'n 1'" },
    { severity: 'warning', file: 'test.cfg', line: 3, keyword: '', reason: "'w'" },
    // shown by HAProxy only with -dD: kept with the 'diag' severity for the CLI to filter
    { severity: 'diag', file: 'test.cfg', line: 4, keyword: '', reason: "'d'" },
    { severity: 'notice', file: 'test.cfg', line: 5, keyword: '', reason: "''" },
  ]);
});

test('.alert is fatal and stops the reading', () => {
  // haproxy 2.6.12: "parsing [t.cfg:2]: 'stop'." and the following .notice is not shown
  const { lines, diag } = lex('global\n  .alert "stop"\n  .notice after\n  daemon\n');
  assert.deepEqual(lines.map((l) => l.words), [['global']]);
  assert.deepEqual(diag.items.map((i) => [i.severity, i.line, i.reason]), [['alert', 2, "'stop'"]]);
  assert.ok(diag.hasErrors);
});

test('messages in skipped blocks are not emitted', () => {
  const { diag } = lex('.if 0\n  .alert x\n  .warning y\n.else\n  .notice z\n.endif\n');
  assert.deepEqual(diag.items.map((i) => [i.severity, i.line]), [['notice', 5]]);
});

test('a message with several words is an error, the file goes on', () => {
  // haproxy 2.6.12: "Unexpected argument 'b' for '.notice'. Use quotes if the message should contain spaces."
  const { lines, diag } = lex('  .notice a b\n  daemon\n');
  assert.deepEqual(lines.map((l) => l.words), [['daemon']]);
  assert.deepEqual(diag.items.map((i) => [i.severity, i.line, i.keyword]), [['alert', 1, '.notice']]);
  assert.match(diag.items[0].reason, /unexpected argument 'b' for '\.notice'/);
});

test('an unknown directive is an error and stops the reading', () => {
  // haproxy 2.6.12: "unknown directive '.bogus'." and nothing after it; '.ALERT' is unknown too
  for (const d of ['.bogus', '.ALERT x', '.include foo']) {
    const { lines, diag } = lex(`global\n${d}\n  daemon\n`);
    assert.deepEqual(lines.map((l) => l.words), [['global']]);
    assert.deepEqual(errors(diag).map((e) => [e.line, e.reason]), [[2, `unknown directive '${d.split(' ')[0]}'`]]);
  }
});

// ------------------------------------------------------------ tokenizeLine

test('tokenizeLine keeps the terminator argument HAProxy sees', () => {
  const o = { env: ENV, comments: true, line: 1 };
  assert.deepEqual(tokenizeLine('a b', 0, o), { ok: true, args: ['a', 'b'], lastQuoted: false });
  assert.deepEqual(tokenizeLine('a b ', 0, o), { ok: true, args: ['a', 'b', ''], lastQuoted: false });
  assert.deepEqual(tokenizeLine('a ""', 0, o), { ok: true, args: ['a', ''], lastQuoted: true });
  assert.deepEqual(tokenizeLine('', 0, o), { ok: true, args: [''], lastQuoted: false });
  // without comments (haproxy -cc), '#' and "\#" are plain characters
  assert.deepEqual(tokenizeLine('a #b \\#', 0, { ...o, comments: false }), { ok: true, args: ['a', '#b', '\\#'], lastQuoted: false });
  assert.deepEqual(tokenizeLine('k "\\x4"', 0, o), { ok: false, reason: 'truncated or invalid hexadecimal sequence', pos: 3 });
});
