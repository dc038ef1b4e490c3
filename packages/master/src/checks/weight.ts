/**
 * server_parse_weight_change_request() (src/server.c), for the agent's `<n>%`
 * words and the Runtime API's `set weight`: the new user weight, or
 * HAProxy's complaint (the agent check reports it as "agent warns : …", the
 * CLI replies with it).
 */
export function weightChange(text: string, iweight: number, staticAlgo: boolean): number | string {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(text);
  if (!m) return 'Empty weight string empty or preceded by garbage';
  let w = Number(m[1]);
  const end = text.slice(m[0].length);
  if (end === '%') {
    if (w < 0) return 'Relative weight must be positive.\n';
    if (w > 25600) w = 25600;
    w = Math.min(256, Math.floor((iweight * w) / 100));
  } else if (w < 0 || w > 256) {
    return 'Absolute weight can only be between 0 and 256 inclusive.\n';
  } else if (end !== '') {
    return 'Trailing garbage in weight string';
  }
  if (w && w !== iweight && staticAlgo) return "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n";
  return w;
}
