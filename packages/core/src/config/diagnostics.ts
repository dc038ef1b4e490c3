/**
 * Config diagnostics. Errors accumulate (HAProxy reports every error of a file,
 * not just the first; see cfgparse-listen.c) and each one carries file:line,
 * the keyword and the reason.
 */
export type Severity = 'alert' | 'warning' | 'notice' | 'diag';

export interface ConfigDiagnostic {
  severity: Severity;
  file: string;
  line: number;
  keyword: string;
  reason: string;
}

export class Diagnostics {
  readonly items: ConfigDiagnostic[] = [];

  error(file: string, line: number, keyword: string, reason: string): void {
    this.items.push({ severity: 'alert', file, line, keyword, reason });
  }

  warn(file: string, line: number, keyword: string, reason: string): void {
    this.items.push({ severity: 'warning', file, line, keyword, reason });
  }

  notice(file: string, line: number, keyword: string, reason: string): void {
    this.items.push({ severity: 'notice', file, line, keyword, reason });
  }

  get errorCount(): number {
    let n = 0;
    for (const d of this.items) if (d.severity === 'alert') n++;
    return n;
  }

  get hasErrors(): boolean {
    return this.errorCount > 0;
  }
}

/** `[ALERT]    : config : parsing [file:line] : 'keyword' : reason`, HAProxy's shape. */
export function formatDiagnostic(d: ConfigDiagnostic): string {
  const tag = d.severity === 'alert' ? '[ALERT]  ' : d.severity === 'warning' ? '[WARNING]' : d.severity === 'notice' ? '[NOTICE] ' : '[DIAG]   ';
  const where = d.file ? `parsing [${d.file}:${d.line}] : ` : '';
  const kw = d.keyword ? `'${d.keyword}' : ` : '';
  return `${tag} : config : ${where}${kw}${d.reason}`;
}
