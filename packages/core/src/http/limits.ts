/**
 * HTTP/1 head limits derived from `tune.bufsize` and `tune.http.maxhdr`,
 * computed once when the configuration is compiled (GlobalConfig.h1Limits).
 *
 * HAProxy 2.6 parses a head into an HTX message that must fit in one buffer
 * minus the rewrite reserve: tune.maxrewrite, 1024 by default and at most
 * half of bufsize (src/haproxy.c). Measured with haproxy 2.6.12 and raw
 * sockets (largest head answered, one more byte → 400 for a request, 502 for
 * a response), a head of F header fields written with `name: value` and
 * CRLF passes up to
 *     bufsize − maxrewrite − 79 − 4·F  bytes
 * (default: 15277 for `GET /… HTTP/1.1` + Host, 15273 with two fields,
 * 15073 with 52; bufsize 4096: 2989; 1024: 429; 1000, rounded to 1008: 421).
 * The 4 bytes per field are HTX's 8-byte block minus the ": " and CRLF that
 * HTX does not store. Our parser limits raw bytes only, so maxHeadSize is
 * HAProxy's bound for the smallest valid HTTP/1.1 request (F = 1): a head
 * with F fields may be up to 4·(F − 1) bytes larger than HAProxy accepts.
 *
 * tune.http.maxhdr counts the start line too: at most maxhdr − 1 fields
 * (101: 100 pass, 101 → 400; 10: 9 pass, 10 → 400; verified), which is
 * H1Limits.maxHeaders as the parser applies it.
 */
import type { H1Limits } from './h1';

export const DEFAULT_BUFSIZE = 16384;
export const DEFAULT_MAXHDR = 101;
/** HAProxy's MAXREWRITE. */
const DEFAULT_MAXREWRITE = 1024;
/** Measured (see above): HTX overhead of a head with one field. */
const HEAD_OVERHEAD = 83;

/** HAProxy rounds tune.bufsize up to a multiple of two pointers (16 on 64-bit). */
export function roundBufsize(n: number): number {
  return Math.ceil(n / 16) * 16;
}

/** tune.maxrewrite as HAProxy adjusts it: at most half of bufsize. */
export function effectiveMaxrewrite(bufsize: number): number {
  return DEFAULT_MAXREWRITE >= bufsize / 2 ? Math.floor(bufsize / 2) : DEFAULT_MAXREWRITE;
}

export function h1LimitsFor(bufsize: number, maxhdr: number): H1Limits {
  return { maxHeadSize: Math.max(0, bufsize - effectiveMaxrewrite(bufsize) - HEAD_OVERHEAD), maxHeaders: maxhdr };
}
