/**
 * kubenetctl: every kubectl command unchanged, plus N-Net's network commands.
 * Exits like kubectl: its exit code, or the signal that killed it.
 */
import { main, processIo } from '../cli/index.ts';

const status = await main(process.argv.slice(2), processIo());
process.exitCode = status.code;
if (status.signal) {
  // Die of the same signal, so our parent sees what kubectl's parent would have seen.
  process.kill(process.pid, status.signal);
}
