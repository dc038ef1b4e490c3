/**
 * TLS termination for one `bind ... ssl` listener, in a worker. Node's TLS
 * does the handshake (node:tls over the accepted TCP handle: SNI picks the
 * certificate from the CertStore, ALPN, client certificates); once it is
 * done, the TLSSocket's native handle (a TLSWrap) is handed to the TCP or
 * HTTP stream, which drives it exactly like a TCP handle (raw-handle.ts
 * conventions: onread + streamBaseState, writeBuffer, shutdown, close):
 * plaintext in, plaintext out, no JS stream in between. Closing the TLSWrap
 * closes the TCP socket under it.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { emitReadError, peerAddress, readResult, readBytes, type RawStream } from '../engine/raw-handle';
import { buildCertStore, type CertStore, type CertEntry } from './cert-store';
import { parseClientHello } from './client-hello';
import type { BindOptions } from '../config/compiled';
import type { SslBindConf } from './crt-list';

/** libuv's EPROTO: what a stream sees when TLS fails after the handshake. */
const UV_EPROTO = -71;

export interface TlsAccepted {
  /** The decrypted stream, ready for a TcpStream / HttpStream. */
  handle: RawStream;
  /** Plaintext that arrived with the end of the handshake. */
  first: Buffer | null;
  clientIp: string;
  clientPort: number;
  /** What the ssl_fc* / ssl_c_* fetches and %sslv/%sslc read. */
  info: TlsInfo;
}

/**
 * X509_V_ERR_* numbers (OpenSSL x509_vfy.h) for Node's verification error
 * codes: ssl_c_verify returns the number, as HAProxy does.
 */
const X509_ERRORS: Readonly<Record<string, number>> = {
  UNABLE_TO_GET_ISSUER_CERT: 2, UNABLE_TO_GET_CRL: 3, UNABLE_TO_DECRYPT_CERT_SIGNATURE: 4,
  UNABLE_TO_DECRYPT_CRL_SIGNATURE: 5, UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 6, CERT_SIGNATURE_FAILURE: 7,
  CRL_SIGNATURE_FAILURE: 8, CERT_NOT_YET_VALID: 9, CERT_HAS_EXPIRED: 10, CRL_NOT_YET_VALID: 11,
  CRL_HAS_EXPIRED: 12, ERROR_IN_CERT_NOT_BEFORE_FIELD: 13, ERROR_IN_CERT_NOT_AFTER_FIELD: 14,
  ERROR_IN_CRL_LAST_UPDATE_FIELD: 15, ERROR_IN_CRL_NEXT_UPDATE_FIELD: 16, OUT_OF_MEM: 17,
  DEPTH_ZERO_SELF_SIGNED_CERT: 18, SELF_SIGNED_CERT_IN_CHAIN: 19, UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 20,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 21, CERT_CHAIN_TOO_LONG: 22, CERT_REVOKED: 23, INVALID_CA: 24,
  PATH_LENGTH_EXCEEDED: 25, INVALID_PURPOSE: 26, CERT_UNTRUSTED: 27, CERT_REJECTED: 28,
  HOSTNAME_MISMATCH: 62,
};

/** HAProxy's one-line DN form: `/C=FR/O=Example/CN=name`, in certificate order. */
function onelineDn(text: string): string {
  return '/' + text.split('\n').join('/');
}

/**
 * The client connection's TLS as the fetches see it. Version, cipher, SNI
 * and ALPN are read at the handshake's end; the client certificate only
 * when a rule or log asks.
 */
export class TlsInfo {
  readonly version: string;
  readonly cipher: string;
  readonly sni: string | null;
  readonly alpn: string | null;
  readonly reused: boolean;
  private certRead = false;
  private cert = false;
  private verifyCode = 0;
  private sDn: string | null = null;
  private iDn: string | null = null;

  constructor(private readonly sock: tls.TLSSocket) {
    this.version = sock.getProtocol() ?? '-';
    this.cipher = sock.getCipher()?.name ?? '-';
    const sn = (sock as unknown as { servername?: string | false }).servername;
    this.sni = typeof sn === 'string' && sn !== '' ? sn : null;
    const a = sock.alpnProtocol;
    this.alpn = typeof a === 'string' && a !== '' ? a : null;
    this.reused = sock.isSessionReused();
  }

  private readCert(): void {
    if (this.certRead) return;
    this.certRead = true;
    const c = this.sock.getPeerX509Certificate();
    if (c === undefined) return;
    this.cert = true;
    this.sDn = onelineDn(c.subject);
    this.iDn = onelineDn(c.issuer);
    const err = this.sock.authorizationError as unknown as string | Error | null | undefined;
    const code = err === null || err === undefined ? '' : typeof err === 'string' ? err : ((err as { code?: string }).code ?? String(err.message));
    this.verifyCode = code === '' ? 0 : X509_ERRORS[code] ?? 1;
  }

  get clientCert(): boolean { this.readCert(); return this.cert; }
  get verify(): number { this.readCert(); return this.verifyCode; }
  get subjectDn(): string | null { this.readCert(); return this.sDn; }
  get issuerDn(): string | null { this.readCert(); return this.iDn; }
}

export interface TlsAcceptOwner {
  tlsReady(a: TlsAccepted): void;
  /** The handshake failed or timed out; the connection is already closed. */
  tlsFailed(reason: string, clientIp: string, clientPort: number): void;
}

export class TlsAcceptor {
  private readonly store: CertStore;
  private readonly options: tls.TLSSocketOptions;
  /** Handshakes in progress (closed at a stop). */
  private readonly pending = new Set<tls.TLSSocket>();
  /** Raw handles whose ClientHello is being read (peekHello). */
  private readonly peeking = new Set<RawStream>();
  /**
   * Some crt-list line has its own protocol options (ciphers, versions,
   * curves, verify): the ClientHello is read first to pick that line's
   * context, because OpenSSL's SNI callback swaps only the certificate of a
   * handshake already under way (HAProxy sets them in its ClientHello callback).
   */
  private readonly perLine: boolean;
  private readonly verify: 'none' | 'optional' | 'required';

  constructor(bind: BindOptions) {
    this.store = buildCertStore(bind.tlsCerts ?? [], { strictSni: bind.strictSni });
    // The master's ticket keys in every context: a session resumes on any worker.
    const keys = bind.tlsTicketKeys;
    if (keys) {
      const k = Buffer.from(keys.buffer, keys.byteOffset, keys.byteLength);
      for (const e of this.store.entries) (e.context as unknown as { context: { setTicketKeys(b: Buffer): void } }).context.setTicketKeys(k);
    }
    const conf = bind.sslConf ?? {};
    const verify = conf.verify ?? 'none';
    this.verify = verify;
    this.perLine = this.store.entries.some(e => hasOwnProtocolOptions(e, conf));
    this.options = {
      isServer: true,
      secureContext: this.store.default?.context,
      SNICallback: this.store.sniCallback,
      ALPNProtocols: conf.alpn,
      requestCert: verify !== 'none',
      rejectUnauthorized: verify === 'required',
    };
  }

  /** Start the handshake on an accepted TCP handle; `owner` hears the outcome once. */
  accept(raw: RawStream, timeoutMs: number, owner: TlsAcceptOwner, head: Buffer | null = null): void {
    // `head`: bytes already read after a PROXY header (accept-proxy).
    if (this.perLine) return this.peekHello(raw, timeoutMs, owner, head);
    this.handshake(raw, timeoutMs, owner, this.options, head, Date.now());
  }

  /**
   * Reads the ClientHello from the raw handle (parsed, not decrypted), then
   * starts the handshake with the context and verify mode of the crt-list
   * line its SNI selects; the bytes read are replayed into the TLS socket.
   */
  private peekHello(raw: RawStream, timeoutMs: number, owner: TlsAcceptOwner, head: Buffer | null): void {
    const started = Date.now();
    const peer = peerAddress(raw);
    let buf: Buffer | null = head;
    let done = false;
    const finish = (reason: string | null): void => {
      if (done) return;
      done = true;
      this.peeking.delete(raw);
      if (timer) clearTimeout(timer);
      raw.readStop();
      if (reason !== null) {
        raw.close();
        owner.tlsFailed(reason, peer.address, peer.port);
        return;
      }
      const r = parseClientHello(buf!);
      const entry = r.status === 'ok' ? this.store.entryFor(r.sni) : this.store.default;
      if (entry === undefined) {
        raw.close();
        owner.tlsFailed('SSL handshake failure', peer.address, peer.port);
        return;
      }
      const verify = entry.conf.verify ?? this.verify;
      const opts: tls.TLSSocketOptions = {
        ...this.options,
        secureContext: entry.context,
        requestCert: verify !== 'none',
        rejectUnauthorized: verify === 'required',
      };
      this.handshake(raw, Math.max(1, timeoutMs - (Date.now() - started)), owner, opts, buf, started);
    };
    const timer = timeoutMs > 0 ? setTimeout(() => finish('Timeout during SSL handshake'), timeoutMs) : null;
    this.peeking.add(raw);
    raw.onread = function (this: RawStream, ab: ArrayBuffer | undefined): void {
      const n = readResult();
      if (n < 0) return finish('Connection closed during SSL handshake');
      if (n === 0) return;
      const b = readBytes(ab!, n);
      buf = buf === null ? b : Buffer.concat([buf, b]);
      const r = parseClientHello(buf);
      // A full hello, or bytes that are not one: OpenSSL decides from here.
      if (r.status !== 'need-more' || buf.length > 16384 + 5) finish(null);
    };
    if (buf !== null && parseClientHello(buf).status !== 'need-more') return finish(null);
    raw.readStart();
  }

  private handshake(raw: RawStream, timeoutMs: number, owner: TlsAcceptOwner, options: tls.TLSSocketOptions, head: Buffer | null, _started: number): void {
    const peer = peerAddress(raw);
    // net.Socket adopts an existing handle (its documented `fd` cousin is
    // an fd); the handle came from our own listener.
    const sock = new net.Socket({ handle: raw } as unknown as net.SocketConstructorOpts);
    // Bytes already read (the ClientHello) sit in the socket's buffer; the
    // TLS socket replays them into its TLSWrap (_tls_wrap.js _init).
    if (head !== null) { sock.pause(); sock.unshift(head); }
    const t = new tls.TLSSocket(sock, options);
    this.pending.add(t);
    let done = false;
    const timer = timeoutMs > 0 ? setTimeout(() => fail('Timeout during SSL handshake'), timeoutMs) : null;
    const fail = (reason: string): void => {
      if (done) return;
      done = true;
      this.pending.delete(t);
      if (timer) clearTimeout(timer);
      t.destroy();
      owner.tlsFailed(reason, peer.address, peer.port);
    };
    // HAProxy's messages for these (connection.c, conn_err_code_str()).
    t.on('error', () => fail('SSL handshake failure'));
    t.once('close', () => fail('Connection closed during SSL handshake'));
    t.once('secure', () => {
      if (done) return;
      done = true;
      this.pending.delete(t);
      if (timer) clearTimeout(timer);
      // Plaintext decrypted together with the handshake's end went to the JS
      // stream's buffer; it is the stream's first bytes.
      const first = t.readableLength > 0 ? (t.read() as Buffer | null) : null;
      const h = adoptTlsHandle(t);
      owner.tlsReady({
        handle: h, first, clientIp: peer.address, clientPort: peer.port,
        info: new TlsInfo(t),
      });
    });
  }

  /** Stop: handshakes still running are closed. */
  closeAll(): void {
    for (const t of this.pending) t.destroy();
    this.pending.clear();
    for (const h of this.peeking) h.close();
    this.peeking.clear();
  }
}

/** A crt-list line whose protocol options differ from its bind line's. */
function hasOwnProtocolOptions(e: CertEntry, bind: SslBindConf): boolean {
  const c = e.conf;
  return c.ciphers !== bind.ciphers || c.ciphersuites !== bind.ciphersuites || c.curves !== bind.curves ||
    c.sslMinVer !== bind.sslMinVer || c.sslMaxVer !== bind.sslMaxVer || c.verify !== bind.verify || c.caFile !== bind.caFile;
}

/**
 * After the handshake: the TLSSocket's native TLSWrap, for a stream to drive
 * like a TCP handle. The JS socket stops reading and listening; TLS errors
 * after the handshake (alerts, bad records) reach the TLSWrap's onerror and
 * become a failed read for the stream. Shared with engine/server-connect.ts.
 */
export function adoptTlsHandle(t: tls.TLSSocket): RawStream {
  t.pause();
  const h = (t as unknown as { _handle: RawStream })._handle;
  (h as unknown as { onerror: (this: RawStream) => void }).onerror = onTlsError;
  t.removeAllListeners('error');
  t.on('error', ignore);
  t.removeAllListeners('close');
  return h;
}

function onTlsError(this: RawStream): void { emitReadError(this, UV_EPROTO); }
function ignore(): void { /* the stream owns the handle now */ }
