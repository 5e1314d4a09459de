/**
 * A test hook for the crash tests: with SCNYM_FAILPOINT=NAME:N[:SIGNAL] in the environment, the
 * process sends itself SIGNAL (default SIGKILL, as the OOM killer or a power cut would) the Nth
 * time it reaches NAME. Without the variable this is a no-op.
 */
const [wanted, nth, signal] = (process.env.SCNYM_FAILPOINT ?? '').split(':');
let reached = 0;

export function failpoint(name: string): void {
  if (name !== wanted) return;
  reached += 1;
  if (reached === Number(nth ?? 1)) process.kill(process.pid, signal || 'SIGKILL');
}
