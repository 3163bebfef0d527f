import { clampTimeout } from '../context.js';

/**
 * One timer for the deadlines of many calls. A timer per call costs about a microsecond to set
 * and clear, on calls that mostly end within microseconds of starting; here a call only arms the
 * sweep when its deadline is earlier than the one already armed. When the timer fires, the
 * owner's `sweep` ends every call whose deadline has passed and returns the earliest deadline
 * left (Infinity for none), which is armed next.
 *
 * The timer is unref'd: the connection the calls travel on keeps the process alive.
 */
export class DeadlineSweep {
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;

  constructor(private readonly sweep: (now: number) => number) {}

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

  /** @internal */
  run(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    // A timer may fire a little early: calls not yet due stay in and are armed for again.
    this.arm(this.sweep(Date.now()));
  }
}

function fire(sweep: DeadlineSweep): void {
  sweep.run();
}
