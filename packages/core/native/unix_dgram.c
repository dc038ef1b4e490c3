/*
 * unix_dgram: the one thing Node's net/dgram modules cannot do — send a
 * datagram on an AF_UNIX SOCK_DGRAM socket. We need it for sd_notify(3)
 * ($NOTIFY_SOCKET) and for syslog to /dev/log (HAProxy's `log /dev/log`).
 *
 * Send-only by design: nothing here ever blocks or receives. A full receiver
 * queue gives EAGAIN, which the caller treats as "drop", as HAProxy drops log
 * lines rather than stall traffic.
 *
 * JS surface (wrapped by packages/core/src/util/unix-dgram.ts):
 *   open()                       -> handle (external) | errno (number)
 *   send(handle, target, bytes)  -> 0 | errno
 *   close(handle)                -> 0 | errno
 * Errors are returned as positive errno values, never thrown; only a wrong
 * argument type (a bug in the wrapper) throws a TypeError.
 *
 * The fd lives in a type-tagged external whose finalizer closes it, so a
 * socket that is dropped without close() is not leaked, and a handle cannot
 * be forged from a plain number.
 */
#define _GNU_SOURCE /* SOCK_CLOEXEC, MSG_NOSIGNAL under -std=c11 */

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <node_api.h>

typedef struct {
  int fd; /* -1 once closed */
} dgram_socket;

/* Random 128-bit tag: napi_check_object_type_tag() rejects any external
 * that some other addon created. */
static const napi_type_tag socket_tag = {0x7e1c0b5a93d24f61ULL,
                                         0xa8f3c2d95b0e4417ULL};

#define NAPI_OK(call)                                                          \
  do {                                                                         \
    if ((call) != napi_ok)                                                     \
      return NULL; /* an exception is pending or the env is tearing down */   \
  } while (0)

static napi_value make_int(napi_env env, int v) {
  napi_value out;
  NAPI_OK(napi_create_int32(env, v, &out));
  return out;
}

static napi_value type_error(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

static void socket_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  dgram_socket *s = data;
  if (s->fd >= 0)
    close(s->fd);
  free(s);
}

/* Returns the socket behind args[0], or NULL with a TypeError thrown. */
static dgram_socket *get_socket(napi_env env, napi_value v) {
  napi_valuetype t;
  bool tagged = false;
  void *data = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, v, &socket_tag, &tagged) != napi_ok ||
      !tagged || napi_get_value_external(env, v, &data) != napi_ok) {
    type_error(env, "expected a unix_dgram socket handle");
    return NULL;
  }
  return data;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  (void)info;
  /* Non-blocking so a full receiver never stalls the event loop (we also pass
   * MSG_DONTWAIT per send); CLOEXEC so workers and helpers we spawn do not
   * inherit it. */
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return make_int(env, errno);

  dgram_socket *s = malloc(sizeof(*s));
  if (s == NULL) {
    close(fd);
    return make_int(env, ENOMEM);
  }
  s->fd = fd;

  napi_value handle;
  if (napi_create_external(env, s, socket_finalize, NULL, &handle) != napi_ok) {
    /* The finalizer was not attached, so the cleanup is ours. */
    close(fd);
    free(s);
    return NULL;
  }
  /* From here on the finalizer owns s, even if tagging fails. */
  NAPI_OK(napi_type_tag_object(env, handle, &socket_tag));
  return handle;
}

/*
 * Fills addr from target: "@name" is a Linux abstract socket (sun_path starts
 * with NUL and the name is NOT NUL-terminated: its length is carried by
 * addrlen, which is how systemd and python spell it); anything else is a
 * filesystem path, which must fit sun_path with its terminating NUL.
 * Returns 0 or an errno.
 */
static int fill_addr(const char *target, size_t len, struct sockaddr_un *addr,
                     socklen_t *addrlen) {
  if (len == 0 || memchr(target, '\0', len) != NULL)
    return EINVAL;
  memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (target[0] == '@') {
    size_t name_len = len - 1;
    if (name_len == 0)
      return EINVAL;
    if (name_len > sizeof(addr->sun_path) - 1)
      return ENAMETOOLONG;
    memcpy(addr->sun_path + 1, target + 1, name_len);
    *addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + name_len);
  } else {
    if (len > sizeof(addr->sun_path) - 1)
      return ENAMETOOLONG;
    memcpy(addr->sun_path, target, len);
    *addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
  }
  return 0;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3)
    return type_error(env, "send(handle, target, data) takes 3 arguments");

  dgram_socket *s = get_socket(env, argv[0]);
  if (s == NULL)
    return NULL;

  napi_valuetype t;
  NAPI_OK(napi_typeof(env, argv[1], &t));
  if (t != napi_string)
    return type_error(env, "target must be a string");

  bool is_buffer = false;
  NAPI_OK(napi_is_buffer(env, argv[2], &is_buffer));
  if (!is_buffer)
    return type_error(env, "data must be a Buffer");

  /* Measure first so an over-long target is reported rather than silently
   * truncated by the copy below. Byte length, UTF-8 encoded. */
  size_t target_len = 0;
  NAPI_OK(napi_get_value_string_utf8(env, argv[1], NULL, 0, &target_len));
  struct sockaddr_un addr;
  if (target_len > sizeof(addr.sun_path))
    return make_int(env, ENAMETOOLONG);
  char target[sizeof(addr.sun_path) + 1];
  NAPI_OK(napi_get_value_string_utf8(env, argv[1], target, sizeof(target),
                                     &target_len));

  void *data = NULL;
  size_t data_len = 0;
  NAPI_OK(napi_get_buffer_info(env, argv[2], &data, &data_len));

  if (s->fd < 0)
    return make_int(env, EBADF);

  socklen_t addrlen = 0;
  int err = fill_addr(target, target_len, &addr, &addrlen);
  if (err != 0)
    return make_int(env, err);

  /* A datagram is sent whole or not at all (EMSGSIZE), so no short-write
   * loop; only a signal arriving mid-call is retried. MSG_NOSIGNAL: a
   * receiver that went away must not SIGPIPE the master. */
  ssize_t n;
  do {
    n = sendto(s->fd, data, data_len, MSG_DONTWAIT | MSG_NOSIGNAL,
               (const struct sockaddr *)&addr, addrlen);
  } while (n < 0 && errno == EINTR);
  return make_int(env, n < 0 ? errno : 0);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1)
    return type_error(env, "close(handle) takes 1 argument");
  dgram_socket *s = get_socket(env, argv[0]);
  if (s == NULL)
    return NULL;
  if (s->fd < 0)
    return make_int(env, EBADF);
  /* Mark closed before close(): on Linux the fd is released even when close()
   * reports EINTR, so it must never be closed (or used) twice. */
  int fd = s->fd;
  s->fd = -1;
  return make_int(env, close(fd) < 0 ? errno : 0);
}

static napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_OK(napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]),
                                 props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
