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
import { emitReadError, peerAddress, type RawStream } from '../engine/raw-handle';
import { buildCertStore, type CertStore } from './cert-store';
import type { BindOptions } from '../config/compiled';

/** libuv's EPROTO: what a stream sees when TLS fails after the handshake. */
const UV_EPROTO = -71;

export interface TlsAccepted {
  /** The decrypted stream, ready for a TcpStream / HttpStream. */
  handle: RawStream;
  /** Plaintext that arrived with the end of the handshake. */
  first: Buffer | null;
  clientIp: string;
  clientPort: number;
  /** Negotiated version and cipher (OpenSSL names: %sslv, %sslc). */
  protocol: string | null;
  cipher: string | null;
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
  accept(raw: RawStream, timeoutMs: number, owner: TlsAcceptOwner): void {
    const peer = peerAddress(raw);
    // net.Socket adopts an existing handle (its documented `fd` cousin is
    // an fd); the handle came from our own listener.
    const sock = new net.Socket({ handle: raw } as unknown as net.SocketConstructorOpts);
    const t = new tls.TLSSocket(sock, this.options);
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
        protocol: t.getProtocol(),
        cipher: t.getCipher()?.name ?? null,
      });
    });
  }

  /** Stop: handshakes still running are closed. */
  closeAll(): void {
    for (const t of this.pending) t.destroy();
    this.pending.clear();
  }
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
