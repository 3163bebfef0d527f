// Preloaded into every Node process a test starts (NODE_OPTIONS=--import, see tether.ts), and so
// into their Node children too: exits this process once the process that started it is gone,
// however that one died. A SIGKILLed (or timed-out, SIGTERMed) test runs no 'exit' handler, so
// only the child can notice; Node has no parent-death signal of its own, hence the polling. The
// timer is unref'd: it never keeps a process alive that would otherwise exit.

/** How often the parent is looked for: often enough that a dead test's fixtures go at once. */
const POLL_MS = 200;
const startedBy = process.ppid;
// The pid of the process that started this one, as it set it (tether.ts, or this guard in it):
// when that one died before this guard ran, process.ppid already names init, and only the
// anchor tells. This process is the anchor of the Node children it starts with its own env (an
// example's demo starting its server), which inherit the guard too.
const anchor = Number(process.env.TSMICRO_TETHER_PID);
process.env.TSMICRO_TETHER_PID = String(process.pid);

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function orphaned(): boolean {
  // Re-parented (to init or a subreaper) once the parent died.
  return process.ppid !== startedBy || (anchor > 0 && gone(anchor));
}

function leave(): void {
  process.stderr.write(`tether: the process that started ${process.pid} is gone; exiting\n`);
  // Runs this process's own 'exit' handlers, which kill the children it tracks.
  process.exit(1);
}

if (orphaned()) leave();
setInterval(() => {
  if (orphaned()) leave();
}, POLL_MS).unref();
