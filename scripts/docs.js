#!/usr/bin/env node
// Rewrites the README's keyword reference from the registry.
'use strict';
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { keywordReferenceMarkdown, README_BEGIN, README_END } = require('../packages/core/dist/src/config/keyword-doc.js');
const path = join(__dirname, '..', 'README.md');
const text = readFileSync(path, 'utf8');
const a = text.indexOf(README_BEGIN), b = text.indexOf(README_END);
if (a < 0 || b < 0) { console.error('README markers not found'); process.exit(1); }
writeFileSync(path, text.slice(0, a + README_BEGIN.length) + '\n' + keywordReferenceMarkdown() + '\n' + text.slice(b));
console.log('README keyword reference updated');
