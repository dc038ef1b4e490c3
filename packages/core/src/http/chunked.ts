/**
 * Incremental validator of chunked transfer coding (RFC 9112 §7.1).
 *
 * The proxy forwards chunked bodies byte for byte; this decoder only checks
 * the framing as the bytes pass and tells the caller where chunk data lies
 * (for body inspection / counting), where the trailer section is, and where
 * the message ends (the next pipelined message starts there).
 *
 *   const d = new ChunkedDecoder(false);     // true for a response (errors → 502)
 *   const r = d.feed(buf, start, end);
 *   r === -1       → framing error: d.status, d.reason
 *   d.done         → the body ended at offset r (bytes from r belong to the next message)
 *   otherwise      → r === end; everything consumed, feed more later
 *   d.dataStarts/d.dataEnds[0 .. d.dataCount) → chunk-data ranges of this feed
 *   d.trailers     → parsed trailer fields (HeaderList) once done, or null
 *
 * Accepted like haproxy 2.6.12 (verified with the binary): hex sizes in any
 * case with leading zeros, chunk extensions, LF-only line ends; rejected
 * (400 request / 502 response): non-hex or missing size, size ≥ 2^52 (as
 * haproxy's h1_parse_chunk_size), missing CRLF after chunk data. SP/HTAB
 * between size and CRLF or ';' are accepted, as haproxy.
 * Chunk extensions are checked against the grammar
 *   chunk-ext = *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )
 * and the size line (size + extensions) is capped (`maxLineLength`) so a
 * peer cannot make us scan an unbounded line.
 */
import { HeaderList, TOKEN } from './headers';
import { HEX, parseFields, takeError } from './h1';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;

// states
const S_SIZE_FIRST = 0; // first hex digit required
const S_SIZE = 1; // more hex digits
const S_EXT_BWS = 2; // after size or after an extension: BWS, ';' or line end
const S_EXT_NAME_BWS = 3; // after ';': BWS then token
const S_EXT_NAME = 4;
const S_EXT_EQ_BWS = 5; // after name: BWS, '=', ';' or line end
const S_EXT_VAL_BWS = 6; // after '=': BWS then value
const S_EXT_VAL_TOKEN = 7;
const S_EXT_VAL_QUOTED = 8;
const S_EXT_VAL_QESC = 9;
const S_SIZE_LF = 10; // CR seen at end of size line
const S_DATA = 11;
const S_DATA_CR = 12; // expecting CR (or LF) after data
const S_DATA_LF = 13;
const S_TRAILER = 14; // start of a trailer line (or the final empty line)
const S_TRAILER_LINE = 15;
const S_TRAILER_LINE_LF = 16;
const S_TRAILER_END_LF = 17;
const S_DONE = 18;
const S_ERROR = 19;

const MAX_CHUNK_SIZE = 2 ** 52 - 1;

/** qdtext / quoted-pair bytes (RFC 9110 §5.6.4): HTAB, SP, 0x21-0x7e, obs-text. */
const QDTEXT = new Uint8Array(256);
QDTEXT[HT] = 1;
for (let c = 0x20; c <= 0xff; c++) QDTEXT[c] = 1;
QDTEXT[0x7f] = 0;

export interface ChunkedLimits {
  /** Longest chunk-size line, extensions included (bytes). */
  maxLineLength: number;
  /** Largest trailer section (bytes, final empty line included). */
  maxTrailerSize: number;
  /** Most trailer fields (tune.http.maxhdr semantics: maxHeaders − 1). */
  maxHeaders: number;
}

export const DEFAULT_CHUNKED_LIMITS: Readonly<ChunkedLimits> = Object.freeze({
  maxLineLength: 4096,
  maxTrailerSize: 16384,
  maxHeaders: 101,
});

export class ChunkedDecoder {
  /** The final chunk and trailers were seen. */
  done = false;
  /** Error status (400, or 502 for responses) and reason after a -1. */
  status = 0;
  reason = '';
  /** Chunk-data ranges found by the last feed(). */
  dataStarts: number[] = [];
  dataEnds: number[] = [];
  dataCount = 0;
  /** Total chunk-data bytes seen. */
  bodyBytes = 0;
  /** Trailer fields, once done (null when the trailer section was empty). */
  trailers: HeaderList | null = null;

  private state = S_SIZE_FIRST;
  private size = 0;
  private lineLen = 0;
  /** The current size line has extensions. */
  private ext = false;
  private remaining = 0;
  private readonly badStatus: number;
  private readonly limits: ChunkedLimits;
  /** Trailer bytes accumulated across feeds. */
  private tparts: Buffer[] | null = null;
  private tlen = 0;

  constructor(isResponse = false, limits: ChunkedLimits = DEFAULT_CHUNKED_LIMITS) {
    this.badStatus = isResponse ? 502 : 400;
    this.limits = limits;
  }

  /** Reuse for the next message. */
  reset(): void {
    this.done = false;
    this.status = 0;
    this.reason = '';
    this.dataCount = 0;
    this.bodyBytes = 0;
    this.trailers = null;
    this.state = S_SIZE_FIRST;
    this.size = 0;
    this.lineLen = 0;
    this.ext = false;
    this.remaining = 0;
    this.tparts = null;
    this.tlen = 0;
  }

  private fail(reason: string): -1 {
    this.state = S_ERROR;
    this.status = this.badStatus;
    this.reason = reason;
    return -1;
  }

  private pushData(s: number, e: number): void {
    const i = this.dataCount++;
    if (i < this.dataStarts.length) {
      this.dataStarts[i] = s;
      this.dataEnds[i] = e;
    } else {
      this.dataStarts.push(s);
      this.dataEnds.push(e);
    }
    this.bodyBytes += e - s;
  }

  /**
   * Validate buf[start, end). Returns the offset just past the chunked body
   * when it ended there (this.done), `end` when more is needed, -1 on error.
   */
  feed(buf: Buffer, start: number, end: number): number {
    this.dataCount = 0;
    let state = this.state;
    if (state === S_DONE) return start;
    if (state === S_ERROR) return -1;
    let p = start;
    const maxLine = this.limits.maxLineLength;
    let tstart = state >= S_TRAILER && state <= S_TRAILER_END_LF ? p : -1;

    while (p < end) {
      if (state === S_DATA) {
        const avail = end - p;
        const n = avail < this.remaining ? avail : this.remaining;
        this.pushData(p, p + n);
        p += n;
        this.remaining -= n;
        if (this.remaining === 0) state = S_DATA_CR;
        continue;
      }
      const c = buf[p];
      switch (state) {
        case S_SIZE_FIRST: {
          const d = HEX[c];
          if (d === 255) return this.fail('bad-chunk-size');
          this.size = d;
          state = S_SIZE;
          break;
        }
        case S_SIZE: {
          const d = HEX[c];
          if (d !== 255) {
            const s = this.size * 16 + d;
            // haproxy caps sizes at 13 significant hex digits (2^52 − 1).
            if (s > MAX_CHUNK_SIZE) return this.fail('chunk-size-overflow');
            this.size = s;
            break;
          }
          state = S_EXT_BWS;
          continue; // re-examine c
        }
        case S_EXT_BWS:
          if (c === SP || c === HT) break;
          if (c === 0x3b) state = S_EXT_NAME_BWS;
          else if (c === CR) state = S_SIZE_LF;
          else if (c === LF) state = this.endSizeLine();
          else return this.fail(this.ext ? 'bad-chunk-extension' : 'bad-chunk-size');
          break;
        case S_EXT_NAME_BWS:
          this.ext = true;
          if (c === SP || c === HT) break;
          if (TOKEN[c] === 0) return this.fail('bad-chunk-extension');
          state = S_EXT_NAME;
          break;
        case S_EXT_NAME:
          if (TOKEN[c] === 1) break;
          state = S_EXT_EQ_BWS;
          continue;
        case S_EXT_EQ_BWS:
          if (c === SP || c === HT) break;
          if (c === 0x3d) state = S_EXT_VAL_BWS;
          else if (c === 0x3b) state = S_EXT_NAME_BWS;
          else if (c === CR) state = S_SIZE_LF;
          else if (c === LF) state = this.endSizeLine();
          else return this.fail('bad-chunk-extension');
          break;
        case S_EXT_VAL_BWS:
          if (c === SP || c === HT) break;
          if (c === 0x22) state = S_EXT_VAL_QUOTED;
          else if (TOKEN[c] === 1) state = S_EXT_VAL_TOKEN;
          else return this.fail('bad-chunk-extension');
          break;
        case S_EXT_VAL_TOKEN:
          if (TOKEN[c] === 1) break;
          state = S_EXT_BWS;
          continue;
        case S_EXT_VAL_QUOTED:
          if (c === 0x22) state = S_EXT_BWS;
          else if (c === 0x5c) state = S_EXT_VAL_QESC;
          else if (QDTEXT[c] === 0) return this.fail('bad-chunk-extension');
          break;
        case S_EXT_VAL_QESC:
          if (QDTEXT[c] === 0) return this.fail('bad-chunk-extension');
          state = S_EXT_VAL_QUOTED;
          break;
        case S_SIZE_LF:
          if (c !== LF) return this.fail('bare-cr');
          state = this.endSizeLine();
          break;
        case S_DATA_CR:
          if (c === CR) state = S_DATA_LF;
          else if (c === LF) state = S_SIZE_FIRST;
          else return this.fail('chunk-missing-crlf');
          break;
        case S_DATA_LF:
          if (c !== LF) return this.fail('chunk-missing-crlf');
          state = S_SIZE_FIRST;
          break;
        case S_TRAILER:
          if (tstart < 0) tstart = p;
          if (c === CR) state = S_TRAILER_END_LF;
          else if (c === LF) {
            p++;
            return this.finish(buf, tstart, p);
          } else state = S_TRAILER_LINE;
          break;
        case S_TRAILER_LINE:
          if (c === CR) state = S_TRAILER_LINE_LF;
          else if (c === LF) state = S_TRAILER;
          break;
        case S_TRAILER_LINE_LF:
          // bare CR inside a trailer line: the field parser names it.
          state = c === LF ? S_TRAILER : S_TRAILER_LINE;
          if (c === CR) state = S_TRAILER_LINE_LF;
          break;
        case S_TRAILER_END_LF:
          if (c !== LF) return this.fail('bare-cr');
          p++;
          return this.finish(buf, tstart, p);
      }
      p++;
      if (state < S_DATA && ++this.lineLen > maxLine) return this.fail('chunk-line-too-long');
      if (state === S_TRAILER && tstart < 0) tstart = p;
    }
    this.state = state;
    if (tstart >= 0 && state >= S_TRAILER && state <= S_TRAILER_END_LF && p > tstart) {
      if (!this.keepTrailer(buf, tstart, p)) return -1;
    }
    return end;
  }

  /** End of a size line: data, or the trailer section after the last chunk. */
  private endSizeLine(): number {
    this.lineLen = 0;
    this.ext = false;
    if (this.size === 0) return S_TRAILER;
    this.remaining = this.size;
    return S_DATA;
  }

  private keepTrailer(buf: Buffer, s: number, e: number): boolean {
    this.tlen += e - s;
    if (this.tlen > this.limits.maxTrailerSize) {
      this.fail('trailers-too-large');
      return false;
    }
    // Trailers are rare and small: copy, they may outlive this read buffer.
    const part = Buffer.from(buf.subarray(s, e));
    if (this.tparts === null) this.tparts = [part];
    else this.tparts.push(part);
    return true;
  }

  private finish(buf: Buffer, tstart: number, end: number): number {
    if (!this.keepTrailer(buf, tstart, end)) return -1;
    const tb = this.tparts!.length === 1 ? this.tparts![0] : Buffer.concat(this.tparts!);
    this.tparts = null;
    if (tb.length > 2 || (tb.length === 2 && tb[0] !== CR)) {
      const list = new HeaderList(tb);
      const r = parseFields(tb, 0, tb.length, list, null, this.limits.maxHeaders, false);
      if (r <= 0) {
        // r === 0 cannot happen: the section is complete.
        return this.fail('bad-trailer:' + takeError());
      }
      this.trailers = list;
    }
    this.state = S_DONE;
    this.done = true;
    return end;
  }
}
