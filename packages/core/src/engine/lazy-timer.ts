/**
 * A timeout that is armed and disarmed far more often than it expires, like
 * the per-transaction timeouts of a keep-alive connection (HAProxy keeps an
 * expiry date per task and only requeues the task when the date moves
 * earlier). Arming records the deadline; the pending Node timer is kept
 * when it fires no later than that, and disarming only clears the
 * deadline. A timer that fires before the deadline re-arms for what is
 * left, one that fires disarmed does nothing. A keep-alive request then
 * creates and cancels no Node timer at all (it used to cost three
 * setTimeout and three clearTimeout calls: a Timeout object each, list
 * insertions and removals).
 *
 * The expiry is the deadline rounded up to the next firing of the Node
 * timer, which fires at the earliest at the deadline: as with setTimeout.
 */
export class LazyTimer<T> {
  /** Deadline (Date.now() ms); 0: disarmed. */
  private due = 0;
  private timer: NodeJS.Timeout | null = null;
  /** When the pending Node timer fires (Date.now() ms at arming + delay). */
  private timerDue = 0;

  constructor(private readonly owner: T, private readonly onExpire: (owner: T) => void) {}

  get armed(): boolean {
    return this.due !== 0;
  }

  /** Expire `ms` after `now` (Date.now()); ms ≤ 0 disarms. */
  arm(ms: number, now: number): void {
    if (ms <= 0) { this.due = 0; return; }
    const due = now + ms;
    this.due = due;
    if (this.timer !== null) {
      if (this.timerDue <= due) return;
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    this.timer = setTimeout(onLazyTimer, ms, this);
  }

  disarm(): void {
    this.due = 0;
  }

  /** Disarm and drop the Node timer (the owner ends). */
  stop(): void {
    this.due = 0;
    if (this.timer !== null) { clearTimeout(this.timer); this.timer = null; }
  }

  /** @internal the Node timer fired. */
  fire(): void {
    this.timer = null;
    const due = this.due;
    if (due === 0) return;
    if (this.timerDue < due) {
      // Armed again since this timer was set: wait for what is left.
      const left = due - Date.now();
      if (left > 0) {
        this.timerDue = due;
        this.timer = setTimeout(onLazyTimer, left, this);
        return;
      }
    }
    this.due = 0;
    this.onExpire(this.owner);
  }
}

function onLazyTimer(t: { fire(): void }): void { t.fire(); }
