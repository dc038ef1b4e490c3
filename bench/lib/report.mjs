// Plain-text and markdown tables for the same rows.

export function fmt(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function pct(n) {
  return n === null || n === undefined || Number.isNaN(n) ? '-' : `${(n * 100).toFixed(0)}%`;
}

export function ratio(a, b, digits = 2) {
  if (a === null || a === undefined || !b) return '-';
  return `${(a / b).toFixed(digits)}x`;
}

// rows: arrays of strings; align: 'l' | 'r' per column.
export function textTable(header, rows, align) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells.map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function mdTable(header, rows, align) {
  const sep = align.map((a) => (a === 'r' ? '---:' : '---'));
  const line = (cells) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(sep), ...rows.map(line)].join('\n');
}
