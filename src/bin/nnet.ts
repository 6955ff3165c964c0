/**
 * `nnet`: the CNI plugin binary (/opt/cni/bin/nnet). Wires the process's env, stdin and stdout to
 * runPlugin and exits with its code. The verbs are imported only when a verb runs, so VERSION
 * loads nothing but the entry. NNET_LOG_FILE, when set, is where errors are logged when the
 * config cannot be read (default /var/log/nnet/nnet.log).
 */
import { errorJson, LATEST_VERSION, runPlugin, toCniError, type Verbs } from '../cni/index.ts';

/** More than any sane config with a prevResult; beyond it stdin is refused (CNI code 5). */
const MAX_STDIN_BYTES = 8 * 1024 * 1024;

async function readStdin(): Promise<Uint8Array> {
  // A terminal would block forever; a runtime always gives a pipe or a file.
  if (process.stdin.isTTY) return new Uint8Array();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > MAX_STDIN_BYTES) throw new Error(`stdin is larger than ${MAX_STDIN_BYTES} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

async function loadVerbs(): Promise<Verbs> {
  return (await import('../cni/verbs/index.ts')).verbs;
}

let wrote = false;
const stdout = {
  write(chunk: string): void {
    wrote = true;
    process.stdout.write(chunk);
  },
};

// runPlugin never rejects and catches everything its verbs throw. What can still escape is a
// throw in a stray callback: answer with CNI error JSON if nothing was printed yet (never a
// stack), and exit. A stray rejected promise does not decide the outcome; it only goes to stderr.
process.on('uncaughtException', (e) => {
  if (!wrote) stdout.write(`${JSON.stringify(errorJson(LATEST_VERSION, toCniError(e)))}\n`);
  process.exit(1);
});
process.on('unhandledRejection', (e) => {
  process.stderr.write(`nnet: unhandled rejection: ${toCniError(e).msg}\n`);
});

const code = await runPlugin({
  env: process.env,
  stdin: readStdin,
  verbs: loadVerbs,
  stdout,
  fallbackLogFile: process.env.NNET_LOG_FILE || undefined,
});
// Flush stdout, then exit even if a verb left sockets or timers behind.
process.stdout.write('', () => process.exit(code));
