/**
 * Actions of the tcp-request and tcp-response rule sets that decide a
 * connection's fate (HAProxy tcp_rules.c): accept, reject, silent-drop.
 * Actions shared with http-request (set-var...) live with their owners.
 */
import { registerActions, ACT_STOP, ACT_DENY, ACT_ABORT, type RuleSetName } from './rule-set';

const TCP_SETS: readonly RuleSetName[] = ['tcp-request connection', 'tcp-request session', 'tcp-request content', 'tcp-response content'];

function noArgs(words: string[]): string | void {
  if (words.length > 1) return `unexpected argument '${words[1]}'`;
}

const STOP = { run: () => ACT_STOP };
const DENY = { run: () => ACT_DENY };
const ABORT = { run: () => ACT_ABORT };

registerActions([
  { name: 'accept', sets: TCP_SETS, usage: 'accept', parse: (w) => noArgs(w) ?? STOP },
  { name: 'reject', sets: TCP_SETS, usage: 'reject', parse: (w) => noArgs(w) ?? DENY },
  {
    // HAProxy makes the client believe nothing happened (no FIN, no RST
    // reaching it); Node cannot set the TTL trick, so the connection is
    // reset without lingering: nothing is sent but the RST.
    name: 'silent-drop', sets: [...TCP_SETS, 'http-request', 'http-response'], usage: 'silent-drop', parse: (w) => noArgs(w) ?? ABORT,
  },
]);
