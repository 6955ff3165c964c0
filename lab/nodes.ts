/**
 * Lab nodes: each a network namespace with its own ovsdb-server, ovs-vswitchd (userspace datapath)
 * and ovn-controller (chassis = node name = Neutron binding:host_id), joined by an underlay Linux
 * bridge in a namespace of its own. Geneve needs the node's underlay IP on an OVS bridge's internal
 * port (br-phy), whose uplink is a veth into the underlay bridge.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { run, stopPid, waitFor } from './sh.ts';
import type { StateFile } from './state.ts';

const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
const UNDERLAY_MTU = 9000;

export interface LabNode {
  name: string; // chassis name, hostname and binding:host_id
  netns: string;
  dir: string;
  ovsdbSocket: string; // unix:/…/db.sock
  underlayIp: string;
}

export function underlayNetns(prefix: string): string {
  return `${prefix}-ul`;
}

async function addNetns(state: StateFile, name: string): Promise<void> {
  await run('ip', ['netns', 'add', name]);
  state.update((s) => {
    s.netns.push(name);
  });
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

export async function createUnderlay(state: StateFile, prefix: string): Promise<void> {
  const ns = underlayNetns(prefix);
  await addNetns(state, ns);
  await run('ip', ['-n', ns, 'link', 'add', `${prefix}ulbr`, 'type', 'bridge']);
  await run('ip', ['-n', ns, 'link', 'set', `${prefix}ulbr`, 'mtu', String(UNDERLAY_MTU), 'up']);
}

function ovsEnv(dir: string): Record<string, string> {
  return {
    OVS_RUNDIR: dir,
    OVS_LOGDIR: dir,
    OVS_DBDIR: dir,
    OVS_SYSCONFDIR: dir,
    OVN_RUNDIR: dir,
    OVN_LOGDIR: dir,
    OVN_DBDIR: dir,
  };
}

async function startDaemon(
  state: StateFile,
  label: string,
  netns: string,
  dir: string,
  cmd: string,
  args: string[],
): Promise<number> {
  const pidfile = join(dir, `${cmd}.pid`);
  await run(
    cmd,
    [...args, `--pidfile=${pidfile}`, `--log-file=${join(dir, `${cmd}.log`)}`, '--detach', '--no-chdir'],
    {
      netns,
      env: ovsEnv(dir),
    },
  );
  const { readFileSync } = await import('node:fs');
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  state.update((s) => {
    s.pids.push({ label, pid, marker: dir });
  });
  return pid;
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
  const netns = name;
  const dir = join(o.dir, name);
  const underlayIp = `${o.underlay}.${o.index}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await addNetns(state, netns);
  const db = join(dir, 'conf.db');
  const sock = join(dir, 'db.sock');
  await run('ovsdb-tool', ['create', db, VSWITCH_SCHEMA]);
  await startDaemon(state, `${name}-ovsdb-server`, netns, dir, 'ovsdb-server', [
    db,
    `--remote=punix:${sock}`,
    `--unixctl=${join(dir, 'ovsdb-server.ctl')}`,
  ]);
  const vsctl = (...args: string[]) => run('ovs-vsctl', [`--db=unix:${sock}`, '--timeout=30', ...args]);
  await vsctl('--no-wait', 'init');
  await vsctl(
    '--no-wait',
    'set',
    'Open_vSwitch',
    '.',
    `external_ids:system-id=${name}`,
    `external_ids:hostname=${name}`,
    `external_ids:ovn-remote=${o.sbRemote}`,
    'external_ids:ovn-encap-type=geneve',
    `external_ids:ovn-encap-ip=${underlayIp}`,
    'external_ids:ovn-bridge=br-int',
    'external_ids:ovn-bridge-datapath-type=netdev',
  );
  await startDaemon(state, `${name}-ovs-vswitchd`, netns, dir, 'ovs-vswitchd', [
    `unix:${sock}`,
    `--unixctl=${join(dir, 'ovs-vswitchd.ctl')}`,
  ]);
  // underlay: veth <prefix><i>-ul (br-phy port) <-> <prefix><i>-ulb (in the underlay bridge)
  const ul = underlayNetns(o.prefix);
  const up = `${o.prefix}${o.index}-ul`;
  await run('ip', [
    'link',
    'add',
    up,
    'netns',
    netns,
    'mtu',
    String(UNDERLAY_MTU),
    'type',
    'veth',
    'peer',
    'name',
    `${up}b`,
    'netns',
    ul,
    'mtu',
    String(UNDERLAY_MTU),
  ]);
  await run('ip', ['-n', ul, 'link', 'set', `${up}b`, 'master', `${o.prefix}ulbr`, 'up']);
  // veths attached to a netdev bridge need tx offload off on both ends, or TCP stalls
  await run('ethtool', ['-K', up, 'tx', 'off'], { netns });
  await run('ethtool', ['-K', `${up}b`, 'tx', 'off'], { netns: ul });
  await run('ip', ['-n', netns, 'link', 'set', up, 'up']);
  await vsctl(
    '--may-exist',
    'add-br',
    'br-phy',
    '--',
    'set',
    'bridge',
    'br-phy',
    'datapath_type=netdev',
    '--',
    '--may-exist',
    'add-port',
    'br-phy',
    up,
  );
  await vsctl('set', 'interface', 'br-phy', `mtu_request=${UNDERLAY_MTU}`);
  await waitFor(
    `br-phy in ${netns}`,
    async () => (await run('ip', ['-n', netns, 'link', 'show', 'br-phy'], { allowFail: true })).code === 0,
  );
  await run('ip', ['-n', netns, 'addr', 'add', `${underlayIp}/24`, 'dev', 'br-phy']);
  await run('ip', ['-n', netns, 'link', 'set', 'br-phy', 'up']);
  await vsctl(
    '--may-exist',
    'add-br',
    'br-int',
    '--',
    'set',
    'bridge',
    'br-int',
    'datapath_type=netdev',
    'fail_mode=secure',
    'other_config:disable-in-band=true',
  );
  await startDaemon(state, `${name}-ovn-controller`, netns, dir, 'ovn-controller', [`unix:${sock}`]);
  state.update((s) => {
    s.chassis.push(name);
  });
  await waitFor(`chassis ${name} in the OVN southbound DB`, async () => {
    const r = await run(
      'ovn-sbctl',
      [`--db=${o.sbRemote}`, '--bare', '--columns=hostname', 'list', 'Chassis'],
      { allowFail: true },
    );
    return r.stdout.split('\n').includes(name);
  });
  return { name, netns, dir, ovsdbSocket: `unix:${sock}`, underlayIp };
}

/** Stops every recorded daemon (newest first), deletes recorded namespaces and chassis. */
export async function teardownNodes(state: StateFile, sbRemote: string | undefined): Promise<string[]> {
  const done: string[] = [];
  for (const p of [...state.state.pids].reverse()) {
    if (await stopPid(p.pid, p.marker)) done.push(`stopped ${p.label} (pid ${p.pid})`);
    state.update((s) => {
      s.pids = s.pids.filter((x) => x.pid !== p.pid);
    });
  }
  for (const c of [...state.state.chassis]) {
    if (sbRemote)
      await run('ovn-sbctl', [`--db=${sbRemote}`, '--if-exists', 'chassis-del', c], { allowFail: true });
    state.update((s) => {
      s.chassis = s.chassis.filter((x) => x !== c);
    });
  }
  for (const ns of [...state.state.netns].reverse()) {
    const r = await run('ip', ['netns', 'del', ns], { allowFail: true });
    if (r.code === 0) done.push(`deleted netns ${ns}`);
    state.update((s) => {
      s.netns = s.netns.filter((x) => x !== ns);
    });
  }
  return done;
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

/**
 * Neutron binds a port to a chassis only once it has caught up with an NB_Global.nb_cfg bump made
 * after the chassis registered (before, Neutron counts it as a dead agent): bump and wait.
 */
export async function waitForChassisLive(
  nbRemote: string,
  sbRemote: string,
  chassis: string[],
): Promise<void> {
  const nb = (...a: string[]) => run('ovn-nbctl', [`--db=${nbRemote}`, ...a]);
  const cur = Number((await nb('get', 'NB_Global', '.', 'nb_cfg')).stdout.trim());
  await nb('set', 'NB_Global', '.', `nb_cfg=${cur + 1}`);
  for (const name of chassis) {
    await waitFor(
      `chassis ${name} to catch up with nb_cfg ${cur + 1}`,
      async () => {
        const r = await run(
          'ovn-sbctl',
          [`--db=${sbRemote}`, '--bare', '--columns=nb_cfg', 'find', 'Chassis_Private', `name=${name}`],
          { allowFail: true },
        );
        return Number(r.stdout.trim()) >= cur + 1;
      },
      30_000,
    );
  }
}
