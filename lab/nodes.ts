/**
 * Lab nodes: each a network namespace with its own ovsdb-server, ovs-vswitchd (userspace datapath)
 * and ovn-controller (chassis = node name = Neutron binding:host_id), joined by an underlay Linux
 * bridge in a namespace of its own. Geneve needs the node's underlay IP on an OVS bridge's internal
 * port (br-phy), whose uplink is a veth into the underlay bridge.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type NodeRecorder, type OvsNode, startOvsNode, waitForChassisLive } from './ovs-node.ts';
import { isOurs, run, stopPid } from './sh.ts';
import type { Leftover, StateFile } from './state.ts';

export { waitForChassisLive } from './ovs-node.ts';

const UNDERLAY_MTU = 9000;

export interface LabNode {
  name: string; // chassis name, hostname and binding:host_id
  netns: string;
  dir: string;
  ovsdbSocket: string; // unix:/…/db.sock
  underlayIp: string;
  /** The running node (its daemons' PIDs, restartVswitchd). */
  ovs: OvsNode;
}

export function underlayNetns(prefix: string): string {
  return `${prefix}-ul`;
}

/** Records what a node starts in the lab's state file, so that `lab down` can remove it later. */
export function stateRecorder(state: StateFile): NodeRecorder {
  return {
    netns: (name) =>
      state.update((s) => {
        s.netns.push(name);
      }),
    daemon: (label, pid, marker) =>
      state.update((s) => {
        s.pids.push({ label, pid, marker });
      }),
    daemonGone: (pid) =>
      state.update((s) => {
        s.pids = s.pids.filter((p) => p.pid !== pid);
      }),
    chassis: (name) =>
      state.update((s) => {
        if (!s.chassis.includes(name)) s.chassis.push(name);
      }),
  };
}

export async function createUnderlay(state: StateFile, prefix: string): Promise<void> {
  const ns = underlayNetns(prefix);
  await run('ip', ['netns', 'add', ns]);
  stateRecorder(state).netns?.(ns);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', ns, 'link', 'add', `${prefix}ulbr`, 'type', 'bridge']);
  await run('ip', ['-n', ns, 'link', 'set', `${prefix}ulbr`, 'mtu', String(UNDERLAY_MTU), 'up']);
}

export interface StartNodeOptions {
  prefix: string;
  index: number; // 1, 2, …
  dir: string; // lab dir; the node keeps its state under <dir>/<node>
  sbRemote: string; // the OVN southbound DB, e.g. unix:/…/ovnsb_db.sock
  underlay: string; // first three octets of the underlay /24
}

export async function startNode(state: StateFile, o: StartNodeOptions): Promise<LabNode> {
  const name = `${o.prefix}-node${o.index}`;
  const underlayIp = `${o.underlay}.${o.index}`;
  const ovs = await startOvsNode({
    name,
    prefix: o.prefix,
    dir: join(o.dir, name),
    ovn: { sbRemote: o.sbRemote, chassis: name, encapIp: underlayIp },
    underlay: {
      netns: underlayNetns(o.prefix),
      bridge: `${o.prefix}ulbr`,
      device: `${o.prefix}${o.index}-ul`,
      cidr: `${underlayIp}/24`,
      mtu: UNDERLAY_MTU,
    },
    record: stateRecorder(state),
  });
  return {
    name,
    netns: ovs.netnsName,
    dir: ovs.dir,
    ovsdbSocket: `unix:${ovs.ovsdbSocket}`,
    underlayIp,
    ovs,
  };
}

export interface Teardown {
  done: string[];
  left: Leftover[];
}

/**
 * Stops every recorded daemon (newest first), deletes the recorded chassis and namespaces. What
 * will not go stays recorded and is reported, with why and the command to try.
 */
export async function teardownNodes(state: StateFile, sbRemote: string | undefined): Promise<Teardown> {
  const out: Teardown = { done: [], left: [] };
  for (const p of [...state.state.pids].reverse()) {
    if (await stopPid(p.pid, p.marker)) out.done.push(`stopped ${p.label} (pid ${p.pid})`);
    if (await isOurs(p.pid, p.marker)) {
      out.left.push({
        what: `${p.label} (pid ${p.pid})`,
        why: 'it did not exit on TERM or KILL',
        fix: `kill -KILL ${p.pid}`,
      });
      continue;
    }
    state.update((s) => {
      s.pids = s.pids.filter((x) => x.pid !== p.pid);
    });
  }
  for (const c of [...state.state.chassis]) {
    if (!sbRemote) {
      out.left.push({
        what: `OVN chassis ${c}`,
        why: 'the OVN southbound DB is not running, so it could not be deleted',
        fix: 'npm run env:up, then npm run lab -- down',
      });
      continue;
    }
    const r = await run('ovn-sbctl', [`--db=${sbRemote}`, '--if-exists', 'chassis-del', c], {
      allowFail: true,
    });
    if (r.code !== 0) {
      out.left.push({
        what: `OVN chassis ${c}`,
        why: `ovn-sbctl chassis-del failed: ${r.stderr.trim()}`,
        fix: `ovn-sbctl --db=${sbRemote} chassis-del ${c}`,
      });
      continue;
    }
    out.done.push(`deleted OVN chassis ${c}`);
    state.update((s) => {
      s.chassis = s.chassis.filter((x) => x !== c);
    });
  }
  for (const ns of [...state.state.netns].reverse()) {
    if (existsSync(`/run/netns/${ns}`)) {
      const r = await run('ip', ['netns', 'del', ns], { allowFail: true });
      if (r.code !== 0) {
        out.left.push({
          what: `netns ${ns}`,
          why: `ip netns del failed: ${r.stderr.trim()}`,
          fix: `ip netns del ${ns}`,
        });
        continue;
      }
      out.done.push(`deleted netns ${ns}`);
    }
    state.update((s) => {
      s.netns = s.netns.filter((x) => x !== ns);
    });
  }
  return out;
}

export interface LabNodesOptions {
  prefix: string;
  dir: string;
  underlay: string;
  sbRemote: string;
  nbRemote: string;
}

/**
 * The underlay and two nodes. Neutron binds a port to a chassis only once that chassis has caught
 * up with an NB_Global.nb_cfg (before, it counts as a dead agent): bump it and wait for both.
 */
export async function createLabNodes(state: StateFile, o: LabNodesOptions): Promise<LabNode[]> {
  await createUnderlay(state, o.prefix);
  const nodes: LabNode[] = [];
  for (const index of [1, 2]) nodes.push(await startNode(state, { ...o, index }));
  await waitForChassisLive(
    o.nbRemote,
    o.sbRemote,
    nodes.map((n) => n.name),
  );
  return nodes;
}
