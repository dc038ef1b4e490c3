/**
 * sd_notify(3) from the master process itself, for `Type=notify` units
 * (switchyard.service). We do not spawn `systemd-notify`: on systemd 252 the
 * message is attributed by the sender's PID, and a helper that has already
 * exited cannot be matched to the unit, so READY=1 is lost at random
 * (the caveat in systemd-notify(1)). With
 * NotifyAccess=main only the master's own datagrams count.
 *
 * The protocol is one datagram of newline-separated KEY=VALUE lines to the
 * AF_UNIX socket named by $NOTIFY_SOCKET: a path, or '@name' for an abstract
 * socket. systemd 254+ may also hand out "vsock:" addresses (VMs); those are
 * not supported and make sdNotify() return false.
 */
import { getSystemErrorName } from 'node:util';
import {
  UnixDgramSocket,
  unixDgramAvailable,
  unixDgramUnavailableReason,
} from '@switchyard/core/util/unix-dgram';

/* Opened on first use and kept: the master sends a handful of datagrams over
 * its life, and the socket is close-on-exec so workers never see it. */
let socket: UnixDgramSocket | undefined;
let lastError: string | null = null;

/**
 * Sends `state` (e.g. "READY=1" or "STATUS=...") to $NOTIFY_SOCKET. Returns
 * false, without throwing, when the variable is unset (not under systemd) or
 * the datagram could not be sent; sdNotifyLastError() then says why.
 * $NOTIFY_SOCKET is read on every call and left in the environment, as
 * sd_notify(0, …) does, so a re-executed master can still use it.
 */
export function sdNotify(state: string): boolean {
  const target = process.env['NOTIFY_SOCKET'];
  if (target === undefined || target === '') {
    lastError = null;
    return false;
  }
  if (target[0] !== '/' && target[0] !== '@') {
    lastError = `NOTIFY_SOCKET=${target}: only absolute paths and '@' abstract names are supported`;
    return false;
  }
  if (!unixDgramAvailable()) {
    lastError = `NOTIFY_SOCKET=${target}: ${unixDgramUnavailableReason()}`;
    return false;
  }
  try {
    socket ??= new UnixDgramSocket();
  } catch (err) {
    lastError = `NOTIFY_SOCKET=${target}: ${(err as Error).message}`;
    return false;
  }
  const errno = socket.send(target, Buffer.from(state, 'utf8'));
  if (errno !== 0) {
    lastError = `NOTIFY_SOCKET=${target}: sendto ${getSystemErrorName(-errno)}`;
    return false;
  }
  lastError = null;
  return true;
}

/**
 * Why the last sdNotify() returned false, or null if it succeeded or
 * $NOTIFY_SOCKET is unset. For the master to log: a unit whose READY=1 never
 * arrives only shows a start-up timeout 90 s later.
 */
export function sdNotifyLastError(): string | null {
  return lastError;
}

/** Start-up or reload finished: the new workers accept traffic. */
export function notifyReady(status?: string): boolean {
  return sdNotify(status === undefined ? 'READY=1' : `READY=1\n${statusLine(status)}`);
}

/**
 * A reload has begun; send notifyReady() when it is done. systemd 253+ wants
 * MONOTONIC_USEC with RELOADING=1 (sd_notify(3)) to tell this reload from an
 * earlier one; older systemd ignores the extra line. HAProxy sends the same
 * three lines from mworker_reload().
 *
 * process.hrtime.bigint() is uv_hrtime(), which on Linux is
 * clock_gettime(CLOCK_MONOTONIC) (libuv src/unix/linux.c, uv__hrtime with
 * UV_CLOCK_PRECISE) — the clock systemd compares against. The systemd test
 * checks it against python's time.clock_gettime_ns(CLOCK_MONOTONIC).
 */
export function notifyReloading(): boolean {
  const usec = process.hrtime.bigint() / 1000n;
  return sdNotify(`RELOADING=1\nSTATUS=Reloading configuration.\nMONOTONIC_USEC=${usec}`);
}

/** The master is shutting down (SIGTERM, or SIGUSR1 soft-stop). */
export function notifyStopping(): boolean {
  return sdNotify('STOPPING=1');
}

/** Free-form one-line status shown by `systemctl status switchyard`. */
export function notifyStatus(text: string): boolean {
  return sdNotify(statusLine(text));
}

/* A newline would start a new KEY=VALUE assignment, so fold it. */
function statusLine(text: string): string {
  return `STATUS=${text.replace(/[\r\n]+/g, ' ')}`;
}
