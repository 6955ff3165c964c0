/**
 * A node for tests: its own netns with its own ovsdb-server and ovs-vswitchd (userspace datapath,
 * since there is no openvswitch kernel module here), br-int, and optionally ovn-controller joined
 * to an OVN southbound DB as chassis `ovn.chassis`.
 *
 *   const node = await startOvsNode({ name: 'nntp-n1' });
 *   t.after(() => node.stop());
 *   const settings = node.plugSettings({ driver: 'hybrid' });
 *
 * Every daemon runs inside the node netns with OVS_RUNDIR/OVS_DBDIR/OVN_RUNDIR… pointing at the
 * node's private dir, so its taps and sockets are the node's. stop() kills exactly its own PIDs,
 * removes the chassis it registered and deletes its netns.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitForChassisLive } from '../../lab/nodes.ts';
import { type PlugSettings, type PlugSettingsInput, parsePlugSettings } from '../../src/plug/index.ts';
import { createNetns, deleteNetns, type ExecResult, execInNetns } from './netns.ts';

export interface OvsNodeOptions {
  /** Node name; the netns is named so (prefixed with `prefix` when it does not start with it). */
  name: string;
  /** Prefix for the netns and the private dir; default 'nntp'. */
  prefix?: string;
  /**
   * Join OVN: `chassis` becomes external_ids:hostname (what Neutron's binding:host_id must equal)
   * and, unless `systemId` is given, also external_ids:system-id (the SB Chassis name).
   * With `nbRemote`, start-up also bumps NB_Global.nb_cfg and waits until the new chassis has
   * processed it: Neutron refuses to bind ports to a chassis ("dead agent") until it has seen the
   * chassis catch up with an nb_cfg (it bumps nb_cfg itself only now and then, e.g. on GET /agents).
   */
  ovn?: { sbRemote: string; chassis: string; encapIp: string; systemId?: string; nbRemote?: string };
}

export interface OvsNode {
  name: string;
  netnsName: string;
  netnsPath: string;
  /** ovsdb-server's unix socket (a path; `unix:` + this for OVS tools). */
  ovsdbSocket: string;
  dir: string;
  bridge: 'br-int';
  chassis: string | undefined;
  pids: { ovsdbServer: number; vswitchd: number; ovnController?: number };
  /** Deploy settings for this node (netdev datapath, vswitchd netns = the node netns). */
  plugSettings(overrides?: Partial<PlugSettingsInput>): PlugSettings;
  /** ovs-vsctl against this node's DB; throws on failure. */
  vsctl(...args: string[]): string;
  /** Runs argv inside the node netns. */
  exec(argv: readonly string[]): ExecResult;
  /** Kills ovs-vswitchd (SIGKILL, by PID) and starts a new one on the same DB (for replug tests). */
  restartVswitchd(): Promise<void>;
  stop(): Promise<void>;
}

const VS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function sh(argv: readonly string[], env: Record<string, string> = {}): ExecResult {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    env: { PATH, LC_ALL: 'C', ...env },
    timeout: 60_000,
  });
  return {
    code: r.status ?? 1,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (r.error ? String(r.error) : ''),
  };
}

function must(r: ExecResult, what: string): string {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

async function readPid(file: string, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid > 0) return pid;
    } catch {}
    if (Date.now() > deadline) throw new Error(`no pid in ${file} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** True when `pid` runs and its command line mentions `dir` (guards against PID reuse). */
function isOurs(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(dir);
  } catch {
    return false;
  }
}

async function killPid(
  pid: number | undefined,
  dir: string,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (!pid || !isOurs(pid, dir)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  for (let i = 0; i < 50 && isOurs(pid, dir); i++) await sleep(100);
  if (isOurs(pid, dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
    for (let i = 0; i < 20 && isOurs(pid, dir); i++) await sleep(50);
  }
}

function sbChassis(sbRemote: string, name: string): boolean {
  const r = sh([
    'ovn-sbctl',
    `--db=${sbRemote}`,
    '--bare',
    '--columns=name',
    'find',
    'Chassis',
    `name=${name}`,
  ]);
  return r.code === 0 && r.stdout.trim() === name;
}

export async function startOvsNode(opts: OvsNodeOptions): Promise<OvsNode> {
  const prefix = opts.prefix ?? 'nntp';
  const netnsName = opts.name.startsWith(prefix) ? opts.name : `${prefix}-${opts.name}`;
  for (const n of [opts.ovn?.chassis, opts.ovn?.systemId])
    if (n !== undefined && !n.startsWith(prefix))
      throw new Error(`chassis name ${n} must start with ${prefix}`);
  const dir = mkdtempSync(join(tmpdir(), `${netnsName}-`));
  const sock = join(dir, 'db.sock');
  const env: Record<string, string> = {};
  for (const k of [
    'OVS_RUNDIR',
    'OVS_LOGDIR',
    'OVS_DBDIR',
    'OVS_SYSCONFDIR',
    'OVN_RUNDIR',
    'OVN_LOGDIR',
    'OVN_DBDIR',
  ])
    env[k] = dir;
  const envArgs = ['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];
  const pids: OvsNode['pids'] = { ovsdbServer: 0, vswitchd: 0 };
  const vsctl = (...args: string[]) =>
    must(sh(['ovs-vsctl', `--db=unix:${sock}`, '--timeout=30', ...args]), `ovs-vsctl ${args.join(' ')}`);
  let netnsCreated = false;

  const startVswitchd = async () => {
    sh(['rm', '-f', join(dir, 'ovs-vswitchd.pid')]);
    must(
      execInNetns(netnsName, [
        ...envArgs,
        'ovs-vswitchd',
        `unix:${sock}`,
        `--pidfile=${dir}/ovs-vswitchd.pid`,
        `--unixctl=${dir}/ovs-vswitchd.ctl`,
        `--log-file=${dir}/ovs-vswitchd.log`,
        '--detach',
        '--no-chdir',
      ]),
      'start ovs-vswitchd',
    );
    pids.vswitchd = await readPid(join(dir, 'ovs-vswitchd.pid'));
  };

  const stop = async () => {
    if (pids.ovnController && isOurs(pids.ovnController, dir)) {
      // `exit` (without --restart) makes ovn-controller remove its chassis from the SB DB.
      sh(['ovs-appctl', '-t', join(dir, `ovn-controller.${pids.ovnController}.ctl`), 'exit'], env);
      for (let i = 0; i < 50 && isOurs(pids.ovnController, dir); i++) await sleep(100);
      await killPid(pids.ovnController, dir);
    }
    await killPid(pids.vswitchd, dir);
    await killPid(pids.ovsdbServer, dir);
    const sbName = opts.ovn?.systemId ?? opts.ovn?.chassis;
    if (opts.ovn && sbName && sbChassis(opts.ovn.sbRemote, sbName))
      sh(['ovn-sbctl', `--db=${opts.ovn.sbRemote}`, 'chassis-del', sbName]);
    if (netnsCreated) deleteNetns(netnsName, prefix);
    if (!process.env.NNTP_KEEP_NODE_DIR) rmSync(dir, { recursive: true, force: true });
  };

  try {
    createNetns(prefix, netnsName);
    netnsCreated = true;
    must(sh(['ovsdb-tool', 'create', join(dir, 'conf.db'), VS_SCHEMA]), 'ovsdb-tool create');
    must(
      execInNetns(netnsName, [
        ...envArgs,
        'ovsdb-server',
        join(dir, 'conf.db'),
        `--remote=punix:${sock}`,
        `--pidfile=${dir}/ovsdb-server.pid`,
        `--unixctl=${dir}/ovsdb-server.ctl`,
        `--log-file=${dir}/ovsdb-server.log`,
        '--detach',
        '--no-chdir',
      ]),
      'start ovsdb-server',
    );
    pids.ovsdbServer = await readPid(join(dir, 'ovsdb-server.pid'));
    vsctl('--no-wait', 'init');
    if (opts.ovn)
      vsctl(
        '--no-wait',
        'set',
        'Open_vSwitch',
        '.',
        `external_ids:system-id=${opts.ovn.systemId ?? opts.ovn.chassis}`,
        `external_ids:hostname=${opts.ovn.chassis}`,
        `external_ids:ovn-remote="${opts.ovn.sbRemote}"`,
        'external_ids:ovn-encap-type=geneve',
        `external_ids:ovn-encap-ip=${opts.ovn.encapIp}`,
        'external_ids:ovn-bridge=br-int',
        'external_ids:ovn-bridge-datapath-type=netdev',
      );
    await startVswitchd();
    const brOpts = opts.ovn ? ['fail_mode=secure', 'other_config:disable-in-band=true'] : [];
    vsctl(
      '--may-exist',
      'add-br',
      'br-int',
      '--',
      'set',
      'bridge',
      'br-int',
      'datapath_type=netdev',
      ...brOpts,
    );
    if (opts.ovn) {
      must(
        execInNetns(netnsName, [
          ...envArgs,
          'ovn-controller',
          `unix:${sock}`,
          `--pidfile=${dir}/ovn-controller.pid`,
          `--log-file=${dir}/ovn-controller.log`,
          '--detach',
          '--no-chdir',
        ]),
        'start ovn-controller',
      );
      pids.ovnController = await readPid(join(dir, 'ovn-controller.pid'));
      const deadline = Date.now() + 30_000;
      const sbName = opts.ovn.systemId ?? opts.ovn.chassis;
      while (!sbChassis(opts.ovn.sbRemote, sbName)) {
        if (Date.now() > deadline)
          throw new Error(`chassis ${sbName} did not appear in ${opts.ovn.sbRemote} within 30 s`);
        await sleep(200);
      }
      if (opts.ovn.nbRemote) await waitForChassisLive(opts.ovn.nbRemote, opts.ovn.sbRemote, [sbName]);
    }
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    name: opts.name,
    netnsName,
    netnsPath: `/var/run/netns/${netnsName}`,
    ovsdbSocket: sock,
    dir,
    bridge: 'br-int',
    chassis: opts.ovn?.chassis,
    pids,
    plugSettings: (overrides = {}) =>
      parsePlugSettings({
        ovsdb: `unix:${sock}`,
        bridge: 'br-int',
        datapathType: 'netdev',
        vswitchdNetns: `/var/run/netns/${netnsName}`,
        ...overrides,
      }),
    vsctl,
    exec: (argv) => execInNetns(netnsName, argv),
    restartVswitchd: async () => {
      await killPid(pids.vswitchd, dir, 'SIGKILL');
      await startVswitchd();
    },
    stop,
  };
}
