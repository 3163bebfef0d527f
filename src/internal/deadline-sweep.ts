import { clampTimeout } from '../context.js';

/** A call as the sweep sees it: its deadline, epoch ms (Infinity for none). */
export interface WithDeadline {
  readonly deadline: number;
}

/**
 * One timer for the deadlines of many calls. A timer per call costs about a microsecond to set
 * and clear, on calls that mostly end within microseconds of starting; here a call only arms the
 * sweep when its deadline is earlier than the one already armed. When the timer fires, every
 * call in `calls()` whose deadline has passed goes to `expire`, and the earliest deadline left
 * is armed next.
 *
 * The timer is unref'd: the connection the calls travel on keeps the process alive.
 */
export class DeadlineSweep<T extends WithDeadline> {
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;

  /** `expire` may remove the call from what `calls()` iterates (a Map's values, say). */
  constructor(
    private readonly calls: () => Iterable<T>,
    private readonly expire: (call: T) => void,
  ) {}

  /** Makes sure the sweep runs no later than `deadline` (epoch ms); Infinity does nothing. */
  arm(deadline: number): void {
    if (deadline >= this.armedAt) return;
    this.armedAt = deadline;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(fire, clampTimeout(deadline - Date.now()), this);
    this.timer.unref();
  }

  /** Stops the timer (the owner is closing). */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
  }

  /**
   * What the timer does when it fires: expires every call due by the deadline it was armed for.
   * @internal
   */
  run(): void {
    // Node times timers on the event loop's cached clock, which can lag Date.now() by however
    // long the current tick has run, so a timer may fire a little before its deadline by
    // Date.now(). The deadline it was armed for has come all the same: calls due by then end now,
    // as a timer of their own would have ended them. Re-arming for the last millisecond or two
    // instead let a peer's answer to the same deadline (the server's 408) arrive first.
    const now = Math.max(Date.now(), Number.isFinite(this.armedAt) ? this.armedAt : 0);
    this.timer = undefined;
    this.armedAt = Infinity;
    let next = Infinity;
    for (const call of this.calls()) {
      if (call.deadline <= now) this.expire(call);
      else if (call.deadline < next) next = call.deadline;
    }
    this.arm(next);
  }
}

function fire<T extends WithDeadline>(sweep: DeadlineSweep<T>): void {
  sweep.run();
}
