/**
 * Send-only AF_UNIX datagram sockets, which Node lacks: sd_notify(3) to
 * $NOTIFY_SOCKET and syslog to /dev/log (HAProxy's `log /dev/log local0`).
 *
 * Backed by the N-API addon in packages/core/native (built on `pnpm install`).
 * Loading is lazy and never throws at import: code that only might log to a
 * unix socket must still start without the addon, and ask
 * unixDgramAvailable() / unixDgramUnavailableReason() when it needs one.
 *
 * Sends never block. A full receiver yields EAGAIN and the datagram is
 * dropped, as HAProxy drops log lines rather than stall traffic; errors come
 * back as errno numbers (compare with os.constants.errno), not exceptions,
 * because a missing log socket must not end a stream.
 */
import fs from 'node:fs';
import path from 'node:path';
import { getSystemErrorName } from 'node:util';

/** The addon's functions; see native/unix_dgram.c. */
interface Binding {
  /** A socket handle, or an errno if socket(2) failed. */
  open(): object | number;
  send(handle: object, target: string, data: Buffer): number;
  close(handle: object): number;
}

/* Compiled to dist/src/util/unix-dgram.js; the addon sits beside dist/. */
const ADDON_PATH = path.join(__dirname, '..', '..', '..', 'native', 'build', 'Release', 'unix_dgram.node');

let binding: Binding | undefined;
let unavailableReason: string | undefined;
let loaded = false;

function load(): Binding | undefined {
  if (loaded) return binding;
  loaded = true;
  if (process.platform !== 'linux') {
    unavailableReason = `unix datagram sockets need Linux (this is ${process.platform})`;
  } else if (!fs.existsSync(ADDON_PATH)) {
    unavailableReason =
      `native addon not built: ${ADDON_PATH} is missing; ` +
      'run `pnpm install` or `pnpm --filter @switchyard/core build:native` (needs python3, make, a C compiler)';
  } else {
    try {
      binding = require(ADDON_PATH) as Binding;
    } catch (err) {
      unavailableReason = `cannot load ${ADDON_PATH}: ${(err as Error).message}`;
    }
  }
  return binding;
}

export function unixDgramAvailable(): boolean {
  return load() !== undefined;
}

/** Why unixDgramAvailable() is false, for the error message; null if it is true. */
export function unixDgramUnavailableReason(): string | null {
  load();
  return unavailableReason ?? null;
}

export class UnixDgramSocket {
  readonly #binding: Binding;
  readonly #handle: object;

  /**
   * Opens a non-blocking, close-on-exec socket. Throws (code
   * ERR_UNIX_DGRAM_UNAVAILABLE) without the addon, or an errno error such as
   * EMFILE if socket(2) fails.
   */
  constructor() {
    const b = load();
    if (b === undefined) {
      throw Object.assign(new Error(`unix datagram socket: ${unavailableReason}`), {
        code: 'ERR_UNIX_DGRAM_UNAVAILABLE',
      });
    }
    const handle = b.open();
    if (typeof handle === 'number') throw errnoError('socket', handle);
    this.#binding = b;
    this.#handle = handle;
  }

  /**
   * Sends one datagram to a socket path, or to a Linux abstract name written
   * as '@name' (systemd's spelling in $NOTIFY_SOCKET). Returns 0, or an
   * errno: EAGAIN receiver full (drop), ENOENT/ECONNREFUSED nobody listening,
   * ENAMETOOLONG target does not fit sun_path, EINVAL empty or NUL in target,
   * EMSGSIZE datagram too large, EBADF after close().
   */
  send(target: string, data: Buffer): number {
    return this.#binding.send(this.#handle, target, data);
  }

  /** Idempotent. A socket that is never closed is closed when collected. */
  close(): void {
    this.#binding.close(this.#handle);
  }
}

/* Shaped like Node's own system errors: negative errno, name in code. */
function errnoError(syscall: string, errno: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(-errno);
  return Object.assign(new Error(`${syscall} ${code}`), { errno: -errno, code, syscall });
}
