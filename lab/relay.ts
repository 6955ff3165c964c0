/**
 * A lab node's way to the control plane. Podman runs inside the node's netns (lab/README.md says
 * why: chained CNI plugins such as portmap then write their rules in the node, never in the host),
 * so the nnet plugin it runs reaches Keystone, Neutron and etcd at 127.0.0.1 of the node, as a real
 * node reaches them over its own network. The relay (relay-daemon.ts) listens on those ports on the
 * node's loopback and forwards each connection to the host's loopback: no veth to the host, no
 * route, no netfilter rule; nothing but the lab's own processes sees the traffic.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SYSTEM_PATH, waitFor } from './sh.ts';
import type { StateFile } from './state.ts';

const DAEMON = join(import.meta.dirname, 'relay-daemon.ts');

/** The host ports the plugin reaches: Keystone, Neutron and etcd, from their URLs. */
export function relayPorts(urls: readonly string[]): number[] {
  const ports = urls.map((u) => {
    const url = new URL(u);
    if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost')
      throw new Error(`the lab relays only services on 127.0.0.1, not ${u}`);
    return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  });
  return [...new Set(ports)];
}

/** Starts the relay of netns `netns` (its files under `dir`), records its PID, resolves once it serves. */
export async function startRelay(
  state: StateFile,
  netns: string,
  dir: string,
  ports: number[],
): Promise<number> {
  const ready = join(dir, 'relay.ready');
  rmSync(ready, { force: true });
  const log = openSync(join(dir, 'relay.log'), 'a');
  const child = spawn(
    process.execPath,
    [...process.execArgv, DAEMON, '--netns', netns, '--ports', ports.join(','), '--ready', ready],
    {
      detached: true,
      stdio: ['ignore', log, log],
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, PATH: SYSTEM_PATH },
    },
  );
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error(`cannot start the control-plane relay for ${netns}`);
  state.update((s) => {
    s.pids.push({ label: `${netns}-relay`, pid, marker: ready });
  });
  let exited: number | null = null;
  child.on('exit', (code) => {
    exited = code ?? 1;
  });
  await waitFor(
    `the control-plane relay of ${netns}`,
    async () => exited !== null || existsSync(ready),
    20_000,
  );
  if (exited !== null)
    throw new Error(`the relay of ${netns} exited (${exited}); see ${join(dir, 'relay.log')}`);
  return pid;
}
