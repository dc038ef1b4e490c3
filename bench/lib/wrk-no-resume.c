// LD_PRELOAD shim for wrk in the TLS bench: make every handshake a FULL one.
//
// wrk 4.1.0 reconnects with ssl_close() = SSL_shutdown + SSL_clear and then
// SSL_connect on the same SSL object. SSL_clear keeps the last session, so
// the next handshake offers it (TLS 1.3 PSK from the proxy's ticket) and the
// proxy resumes: measured against HAProxy 2.6 with `Connection: close`,
// 3,263 of 3,267 handshakes were resumed. Switchyard has no keyword yet to
// turn tickets off, so instead the client forgets its session: before the
// first SSL_connect call of each handshake (SSL_in_before), drop the session.
// Built by bench/tls-mode.mjs with `cc -shared -fPIC`.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <openssl/ssl.h>

int SSL_connect(SSL *s) {
  static int (*real)(SSL *);
  if (!real) real = (int (*)(SSL *))dlsym(RTLD_NEXT, "SSL_connect");
  if (SSL_in_before(s)) SSL_set_session(s, NULL);
  return real(s);
}
