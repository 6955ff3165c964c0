/**
 * `nnet`: the CNI plugin binary (/opt/cni/bin/nnet), a thin client of nnet-agent (src/cniproto):
 * VERSION is answered here, every other command goes to the agent's socket. Bundled from Node's
 * built-ins and src/cniproto only, so it starts as fast as node itself.
 */
import { hostname } from 'node:os';
import { runThinClient } from '../cniproto/client.ts';

async function readStdin(max: number): Promise<Uint8Array> {
  // A terminal would block forever; a runtime always gives a pipe or a file.
  if (process.stdin.isTTY) return new Uint8Array();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > max) throw new Error(`stdin is larger than ${max} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

const code = await runThinClient({
  env: process.env,
  readStdin,
  stdout: (t) => process.stdout.write(t),
  hostname,
});
// Flush stdout, then exit.
process.stdout.write('', () => process.exit(code));
