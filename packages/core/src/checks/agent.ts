/**
 * The agent-check reply (configuration.txt 5.2 "agent-check", tcpcheck.c
 * tcpcheck_agent_expect_reply()): one line of words separated by spaces,
 * tabs or commas, up to the first CR or LF, with an optional description
 * after '#'. The last word of each kind wins; words are case-insensitive.
 */
import { HCHK_CHECKED, HCHK_L7OKD, HCHK_L7STS } from './types';

export interface AgentReply {
  /** 'up' | 'down' | 'stopped' | 'fail' as written, null when absent. */
  health: string | null;
  /** 'ready' | 'drain' | 'maint' as written, null when absent. */
  admin: string | null;
  /** `<n>%` as written, null when absent. */
  weight: string | null;
  /** The value after `maxconn:`, null when absent. */
  maxconn: string | null;
  /** The first word that is none of the above. */
  error: string | null;
  /** The text after '#'. */
  description: string;
}

/** Parses the first line of `data`; null while no CR/LF has arrived. */
export function parseAgentReply(data: string): AgentReply | null {
  let end = -1;
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c === 0x0a || c === 0x0d) { end = i; break; }
    // A NUL ends the line as well (HAProxy works on a C string).
    if (c === 0) { end = i; break; }
  }
  if (end < 0) return null;
  const line = data.slice(0, end);
  const r: AgentReply = { health: null, admin: null, weight: null, maxconn: null, error: null, description: '' };
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === ',') { i++; continue; }
    if (c === '#') {
      i++;
      while (line[i] === ' ' || line[i] === '\t') i++;
      r.description = line.slice(i).replace(/^[ \n]+/, '');
      break;
    }
    let j = i + 1;
    while (j < line.length && line[j] !== ' ' && line[j] !== '\t' && line[j] !== ',') j++;
    const word = line.slice(i, j);
    const lw = word.toLowerCase();
    if (lw === 'up' || lw === 'down' || lw === 'stopped' || lw === 'fail') r.health = word;
    else if (lw === 'ready' || lw === 'drain' || lw === 'maint') r.admin = word;
    else if (word.charCodeAt(0) >= 0x30 && word.charCodeAt(0) <= 0x39 && word.includes('%')) r.weight = word;
    else if (lw.startsWith('maxconn:')) r.maxconn = word.slice(8);
    else if (r.error === null) r.error = word;
    i = j + 1;
  }
  return r;
}

/**
 * The check status and info text the reply gives (HCHK_CHECKED: no health
 * change). `warning`: what applying the weight or maxconn complained about.
 */
export function agentResult(r: AgentReply, warning: string | null): { status: number; desc: string } {
  if (r.health !== null) {
    const lh = r.health.toLowerCase();
    const status = lh === 'up' ? HCHK_L7OKD : HCHK_L7STS;
    let msg = r.description;
    // Down reports keep their own description; otherwise an error or a warning is worth showing.
    if (msg === '' || status === HCHK_L7OKD) {
      if (r.error) msg = r.error;
      else if (warning) msg = warning;
    }
    return { status, desc: `via agent : ${r.health}${msg ? ` (${msg})` : ''}` };
  }
  if (r.error) return { status: HCHK_CHECKED, desc: `agent reports an error : ${r.error}` };
  if (warning) return { status: HCHK_CHECKED, desc: `agent warns : ${warning}` };
  return { status: HCHK_CHECKED, desc: '' };
}
