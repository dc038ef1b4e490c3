// The rules bench's rule set (issue 5): 20 ACLs, 8 deny rules that never
// match the bench's request, a lookup in a 10,000-entry map and 10 header
// rewrites, by part, with the files they read. Shared by the load run
// (rules-mode.mjs) and the in-process micro-benchmark (rules-micro.mjs), so
// that both measure the same text.
import { writeFileSync } from 'node:fs';
import { fmt } from './report.mjs';

export const MAP_ENTRIES = 10000;

// The parts each variant runs (BENCH_VARIANTS / rules-micro's variants). The
// ACL declarations are in every part that uses them; an ACL costs nothing
// until a condition evaluates it.
export const VARIANT_PARTS = {
  none: [],
  deny: ['acls', 'deny'],
  map: ['map'],
  rewrites: ['acls', 'rewrites'],
  rules: ['acls', 'deny', 'map', 'rewrites'],
};
export const BLOCKED_NETS = 300;

// A routing map keyed by path prefix, as a site with many API versions and
// shop sections would have. The bench's request (/small.txt) hits one entry,
// so the lookup walks the trie and the converter returns a value.
export function writeMap(file) {
  const lines = ['# path prefix -> route tag (map_beg: longest prefix wins)'];
  for (let i = 0; i < MAP_ENTRIES - 1; i++) {
    lines.push(i % 2 ? `/api/v${i}/ api-tag-${i}` : `/shop/item-${i}/ shop-tag-${i}`);
  }
  lines.push('/small static-small');
  writeFileSync(file, lines.join('\n') + '\n');
}

// A deny list of client networks (src -f): /24s and single hosts from the
// documentation and benchmarking ranges, a few IPv6 /48s; none holds 127.0.0.1.
export function writeNets(file) {
  const lines = ['# blocked client networks'];
  for (let i = 0; i < BLOCKED_NETS; i++) {
    if (i % 30 === 29) lines.push(`2001:db8:${i.toString(16)}::/48`);
    else if (i % 3 === 2) lines.push(`203.0.113.${i % 256}`);
    else lines.push(`198.${18 + (i >> 8)}.${i & 255}.0/24`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
}

// The frontend lines, by part. Every ACL is evaluated at least once for the
// bench's request (GET /small.txt, Host only, from 127.0.0.1): conditions are
// ordered so that no ACL is skipped by short-circuit evaluation; nothing is
// denied.
export function ruleParts(mapFile, netsFile) {
  return {
    acls: `    # 20 ACLs
    acl is_api        path_beg /api/ /v1/ /v2/
    acl is_static     path_end .css .js .png .jpg .gif .ico .svg .woff2 .txt
    acl is_admin      path_beg -i /admin /wp-admin /phpmyadmin
    acl is_upload     path_dir upload uploads
    acl bad_path      path_reg \\.\\./|%00|/\\.git/|\\.php$
    acl long_uri      url_len gt 2048
    acl host_local    hdr(host) -i localhost 127.0.0.1 example.com www.example.com
    acl host_example  hdr_dom(host) -i example.com example.org
    acl meth_read     method GET HEAD
    acl meth_bad      method TRACE CONNECT
    acl from_local    src 127.0.0.0/8 ::1
    acl from_private  src 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16
    acl from_blocked  src -f ${netsFile}
    acl has_debug     url_param(debug) -m found
    acl has_token     url_param(token) -m len gt 0
    acl has_query     query -m found
    acl has_session   req.cook(SESSIONID) -m found
    acl has_auth      req.hdr(authorization) -m found
    acl many_xff      req.hdr_cnt(x-forwarded-for) gt 3
    acl ua_bot        hdr_sub(user-agent) -i bot crawler spider
`,
    deny: `    # 8 deny rules that never match the bench's request
    http-request deny deny_status 400 if bad_path
    http-request deny deny_status 405 if meth_bad
    http-request deny if from_blocked
    http-request deny deny_status 400 if long_uri
    http-request deny if is_admin !from_local
    http-request deny deny_status 400 if many_xff || ua_bot
    http-request deny if !host_local !host_example has_debug
    http-request deny if !has_token is_upload
`,
    map: `    # a lookup in a ${fmt(MAP_ENTRIES)}-entry map
    http-request set-header X-Route %[path,map_beg(${mapFile},default)]
`,
    rewrites: `    # 10 header rewrites
    http-request set-header X-Class api if is_api !is_static
    http-request set-header X-Class static if is_static meth_read
    http-request set-header X-Forwarded-Host %[req.hdr(host),lower]
    http-request set-header X-Client-IP %[src] if from_private || from_local
    http-request add-header X-Request-Path %[path] if !has_query
    http-request add-header X-Session anonymous if !has_session !has_auth
    http-request add-header X-Tags "bench, rules, v1"
    http-request replace-value X-Tags ^v1$ v2
    http-request replace-header Host ^([^:]+):[0-9]+$ \\1
    http-request del-header Proxy
`,
  };
}
