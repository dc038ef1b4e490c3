// Summarise a .cpuprofile (node --cpu-prof): self time by function and by
// file, and the heaviest call paths ending in the top functions.
//   node bench/cpuprofile-summary.mjs <file.cpuprofile> [top=25]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/cpuprofile-summary.mjs <file.cpuprofile> [top]');
  process.exit(2);
}
const TOP = Number(topArg ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Sample counts per node; time per sample from timeDeltas.
const hits = new Map();
let total = 0;
for (const id of prof.samples) {
  hits.set(id, (hits.get(id) ?? 0) + 1);
  total++;
}
const usPerSample = (prof.endTime - prof.startTime) / Math.max(1, total);

const short = (url) => (url ? url.replace(/^file:\/\//, '').replace(/^.*\/(packages|node_modules)\//, '$1/') : '');
const fnKey = (n) => {
  const cf = n.callFrame;
  const name = cf.functionName || '(anonymous)';
  return cf.url ? `${name} ${short(cf.url)}:${cf.lineNumber + 1}` : name;
};
const fileKey = (n) => {
  const url = n.callFrame.url;
  if (url) return short(url);
  return n.callFrame.functionName.startsWith('(') ? n.callFrame.functionName : '(native/builtin)';
};

const byFn = new Map();
const byFile = new Map();
for (const [id, c] of hits) {
  const n = nodes.get(id);
  byFn.set(fnKey(n), (byFn.get(fnKey(n)) ?? 0) + c);
  byFile.set(fileKey(n), (byFile.get(fileKey(n)) ?? 0) + c);
}
const idle = [...hits].filter(([id]) => nodes.get(id).callFrame.functionName === '(idle)').reduce((a, [, c]) => a + c, 0);
const busy = total - idle;
const pct = (c) => `${((100 * c) / busy).toFixed(1).padStart(5)}%`;

console.log(`${file}: ${total} samples, ${(usPerSample).toFixed(0)} µs/sample, ${(100 * idle / total).toFixed(1)}% idle; percentages of non-idle samples`);
const table = (title, m) => {
  console.log(`\n${title}`);
  for (const [k, c] of [...m].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`  ${pct(c)}  ${k}`);
};
table('self time by function', byFn);
table('self time by file', byFile);

// Inclusive ("total") time by function: a sample counts once per function on its stack.
const incl = new Map();
for (const [id, c] of hits) {
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = fnKey(nodes.get(cur));
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + c);
  }
}
table('inclusive time by function', incl);

// Heaviest stacks (leaf-most 6 frames).
const paths = new Map();
for (const [id, c] of hits) {
  if (nodes.get(id).callFrame.functionName === '(idle)') continue;
  const frames = [];
  for (let cur = id; cur !== undefined && frames.length < 6; cur = parent.get(cur)) {
    const n = nodes.get(cur);
    if (n.callFrame.functionName === '(root)') break;
    frames.push(n.callFrame.functionName || '(anon)');
  }
  const k = frames.reverse().join(' > ');
  paths.set(k, (paths.get(k) ?? 0) + c);
}
table('heaviest call paths (outermost > … > leaf)', paths);
