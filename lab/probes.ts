/**
 * Probes from inside a network namespace, retried until a deadline (the first packets of a new
 * flow may be lost while OVN learns the path): HTTP with curl, DNS with busybox nslookup. curl, not
 * busybox wget: the static busybox's wget segfaults inside these namespaces. Shared by the lab's
 * experiment 3 (lab/k8s.ts) and test/integration/k8s-node.test.ts.
 */
import { run, sleep } from './sh.ts';

/** A netns by path (/run/netns/NAME, /proc/PID/ns/net): entered with `nsenter --net`, no mount namespace. */
export const inNetns = (netnsPath: string, argv: string[]) =>
  run('nsenter', [`--net=${netnsPath}`, ...argv], { allowFail: true, timeoutMs: 15_000 });

/** `curl URL` from the netns until it answers; throws with curl's last error at the deadline. */
export async function httpFrom(netnsPath: string, url: string, deadlineMs = 30_000): Promise<string> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const r = await inNetns(netnsPath, ['curl', '-sS', '-m', '5', url]);
    if (r.code === 0) return r.stdout;
    if (Date.now() > until) throw new Error(`curl ${url}: ${r.stderr.trim() || `exit ${r.code}`}`);
    await sleep(500);
  }
}

/**
 * The IPv4 address `name` resolves to through `server`, from the netns (busybox nslookup, which
 * also asks for AAAA; the A answer is what counts). Throws at the deadline with nslookup's output.
 */
export async function lookupFrom(
  netnsPath: string,
  name: string,
  server: string,
  deadlineMs = 30_000,
): Promise<string> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const r = await inNetns(netnsPath, ['busybox', 'nslookup', name, server]);
    const answer = parseLookup(r.stdout, name);
    if (answer) return answer;
    if (Date.now() > until)
      throw new Error(`nslookup ${name} ${server}: ${(r.stdout + r.stderr).trim().replace(/\s+/g, ' ')}`);
    await sleep(500);
  }
}

/** The first IPv4 address busybox nslookup printed for `name` (either of its output formats). */
export function parseLookup(output: string, name: string): string | undefined {
  const answer = output.split(`Name:\t${name}`)[1] ?? output.split(`Name: ${name}`)[1] ?? '';
  return /^\s*Address(?: \d+)?:?\s+(\d+\.\d+\.\d+\.\d+)/.exec(answer)?.[1];
}
