#!/usr/bin/env node
// Runs every compiled test file: unit tests of each package
// (packages/*/dist/test/*.test.js) and the integration tests (test/dist/*.test.js).
// Test files are named explicitly: `node --test <dir>` would also run helpers.
// Usage: node test/run-tests.js [substring filter...]
'use strict';
const { readdirSync, existsSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
const dirs = [];
for (const p of readdirSync(join(root, 'packages'))) dirs.push(join(root, 'packages', p, 'dist', 'test'));
dirs.push(join(root, 'test', 'dist'));
const filters = process.argv.slice(2);
const files = [];
for (const d of dirs) {
  if (!existsSync(d)) continue;
  for (const f of readdirSync(d).sort()) {
    if (!f.endsWith('.test.js')) continue;
    const full = join(d, f);
    if (filters.length && !filters.some(s => full.includes(s))) continue;
    files.push(full);
  }
}
if (files.length === 0) {
  console.error('no test files found: run `pnpm build` first');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', ...files], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
