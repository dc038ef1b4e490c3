#!/usr/bin/env node
// Per-request CPU by function between two worker profiles (e.g. the rules bench without and with rules):
//   node bench/cpuprofile-diff.mjs <a.cpuprofile> <b.cpuprofile> <CPU us/req of a> <CPU us/req of b>
// Self time of each function as a share of the non-idle samples, times the measured CPU per request; sorted by the growth.
import { readFileSync } from 'node:fs';
function load(path) {
  const p = JSON.parse(readFileSync(path, 'utf8'));
  const byId = new Map(p.nodes.map(n => [n.id, n]));
  const counts = new Map();
  for (const s of p.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const self = new Map();
  let total = 0, idle = 0;
  for (const [id, c] of counts) {
    const n = byId.get(id);
    const f = n.callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url.replace(/.*\/dist\/src\//, '')}:${f.lineNumber}`;
    if (f.functionName === '(idle)') { idle += c; continue; }
    total += c;
    self.set(key, (self.get(key) ?? 0) + c);
  }
  return { self, total };
}
const [a, b, usA, usB] = process.argv.slice(2);
const A = load(a), B = load(b);
const keys = new Set([...A.self.keys(), ...B.self.keys()]);
const rows = [];
for (const k of keys) {
  const x = (A.self.get(k) ?? 0) / A.total * Number(usA);
  const y = (B.self.get(k) ?? 0) / B.total * Number(usB);
  rows.push([k, x, y, y - x]);
}
rows.sort((p, q) => q[3] - p[3]);
for (const r of rows.slice(0, 40)) console.log(`${r[3].toFixed(2).padStart(6)} us  (${r[1].toFixed(2)} -> ${r[2].toFixed(2)})  ${r[0]}`);
