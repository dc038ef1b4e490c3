/**
 * The README's keyword reference is generated from the registry (`pnpm
 * docs`); this keeps it from drifting from what the parser accepts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as KeywordDoc from '../packages/core/src/config/keyword-doc';
import { ROOT, runSwitchyard, tempDir, writeConfig } from './helpers';

// The test package does not depend on @switchyard/core by name: load its build.
const doc = require(join(ROOT, 'packages', 'core', 'dist', 'src', 'config', 'keyword-doc.js')) as typeof KeywordDoc;

function readmeSection(): string {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const a = text.indexOf(doc.README_BEGIN);
  const b = text.indexOf(doc.README_END);
  assert.ok(a >= 0, `README.md lacks the marker ${doc.README_BEGIN}`);
  assert.ok(b > a, `README.md lacks the marker ${doc.README_END} after the begin marker`);
  return text.slice(a + doc.README_BEGIN.length, b).trim();
}

test('README keyword reference equals keywordReferenceMarkdown() (run `pnpm docs` to update it)', () => {
  const expected = doc.keywordReferenceMarkdown().trim();
  assert.ok(expected.includes('| `bind` |'), 'the generated reference lists no keywords');
  assert.equal(readmeSection(), expected);
});

test('every keyword row of the README is accepted by the parser in one of its sections', async () => {
  // A keyword documented but not registered would be an "unknown keyword".
  const rows = readmeSection().split('\n').filter(l => /^\| `[^`]+` \| [a-z, ]+ \| `/.test(l));
  assert.ok(rows.length > 10, `only ${rows.length} keyword rows`);
  const tmp = tempDir('sy-readme-');
  try {
    const lines: string[] = [];
    for (const row of rows) {
      const [, name, sections] = /^\| `([^`]+)` \| ([a-z, ]+) \|/.exec(row)!;
      const section = sections.split(', ')[0];
      const header = section === 'global' || section === 'defaults' ? section : `${section} p${lines.length}`;
      // No arguments: each line must fail on its arguments, not as unknown.
      lines.push(header, `    ${name}`);
    }
    const cfg = writeConfig(tmp.dir, lines.join('\n') + '\n', 'all-keywords.cfg');
    const r = await runSwitchyard(['-c', '-f', cfg]);
    const unknown = r.stderr.split('\n').filter(l => /unknown keyword|not supported by Switchyard|is not allowed in/.test(l));
    assert.deepEqual(unknown, []);
  } finally {
    tmp.cleanup();
  }
});
