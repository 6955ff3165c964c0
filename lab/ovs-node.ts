/**
 * One OVS node, for the lab and the tests alike: a network namespace with its own ovsdb-server and
 * ovs-vswitchd (userspace datapath: there is no openvswitch kernel module here), br-int, and, with
 * `ovn`, ovn-controller registered as an OVN chassis; with `underlay`, an uplink for geneve between
 * nodes (the underlay IP sits on br-phy, an OVS bridge whose port is a veth into an underlay bridge).
 *
 *   const node = await startOvsNode({ name: 'nntp-n1', prefix: 'nntp' });
 *   t.after(() => node.stop());
 *
 * Every daemon runs inside the node netns with OVS_RUNDIR/OVS_DBDIR/OVN_RUNDIR… pointing at the
 * node's private dir, so its taps and sockets are the node's. stop() stops exactly its own PIDs,
 * removes the chassis it registered and deletes its netns.
 *
 * Why here: the lab is the project's tool for building nodes, and the tests use it as they use the
 * lab itself (test/integration/lab.test.ts). This module imports nothing from src/ and nothing of
 * the lab's state file: what it starts is reported through `record`, which the lab persists so that
 * a later `lab down` can stop it, and which tests leave out (they call stop()). The tests' view
 * (test/support/ovs-node.ts) only adds the plug settings for the node, which need src/.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOurs, run, SYSTEM_PATH, sleep, stopPid, waitFor } from './sh.ts';

const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Told of everything the node starts, as it starts it (the lab writes it to its state file). */
export interface NodeRecorder {
  netns?(name: string): void;
  daemon?(label: string, pid: number, marker: string): void;
  daemonGone?(pid: number): void;
  chassis?(name: string): void;
}

export interface UnderlayLink {
  /** The underlay's netns and its Linux bridge, which the node's veth joins. */
  netns: string;
  bridge: string;
  /** The veth's name in the node (its peer in the underlay is this name + "b"). */
  device: string;
  /** The node's underlay address with its prefix length, e.g. 100.64.0.1/24. */
  cidr: string;
  mtu: number;
}

export interface OvnJoin {
  sbRemote: string;
  /** external_ids:hostname, what Neutron's binding:host_id must equal. */
  chassis: string;
  encapIp: string;
  /** external_ids:system-id, the SB Chassis name (default: `chassis`). */
  systemId?: string;
  /**
   * With it, start-up bumps NB_Global.nb_cfg and waits until the chassis has processed it: Neutron
   * refuses to bind ports to a chassis ("dead agent") until it has seen the chassis catch up.
   */
  nbRemote?: string;
}

export interface OvsNodeOptions {
  /** Node name; the netns is named so (prefixed with `prefix` when it does not start with it). */
  name: string;
  /** Every netns and chassis name must start with it; default 'nntp'. */
  prefix?: string;
  /** The node's private dir (emptied first); default a fresh one under the system's tmpdir. */
  dir?: string;
  ovn?: OvnJoin;
  underlay?: UnderlayLink;
  record?: NodeRecorder;
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
  /** ovs-vsctl against this node's DB; throws on failure. */
  vsctl(...args: string[]): string;
  /** Runs argv inside the node netns. */
  exec(argv: readonly string[]): ExecResult;
  /**
   * Stops ovs-vswitchd (by PID, with `signal`, default SIGKILL) and starts a new one on the same DB,
   * as a crash and a supervisor's restart would. Resolves once the new one runs.
   */
  restartVswitchd(signal?: NodeJS.Signals): Promise<{ stoppedPid: number; startedPid: number }>;
  /** The same for ovsdb-server, on the same database file (what OVS's own restart does). */
  restartOvsdbServer(signal?: NodeJS.Signals): Promise<{ stoppedPid: number; startedPid: number }>;
  stop(): Promise<void>;
}

function ovsEnv(dir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ['OVS_RUNDIR', 'OVS_LOGDIR', 'OVS_DBDIR', 'OVS_SYSCONFDIR']) env[k] = dir;
  for (const k of ['OVN_RUNDIR', 'OVN_LOGDIR', 'OVN_DBDIR']) env[k] = dir;
  return env;
}

function execSync(argv: readonly string[]): ExecResult {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    env: { PATH: SYSTEM_PATH, LC_ALL: 'C' },
    timeout: 60_000,
  });
  return {
    code: r.status ?? 1,
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (r.error ? String(r.error) : ''),
  };
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

async function sbHasChassis(sbRemote: string, name: string): Promise<boolean> {
  const r = await run(
    'ovn-sbctl',
    [`--db=${sbRemote}`, '--bare', '--columns=name', 'find', 'Chassis', `name=${name}`],
    {
      allowFail: true,
    },
  );
  return r.code === 0 && r.stdout.trim() === name;
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

export async function startOvsNode(opts: OvsNodeOptions): Promise<OvsNode> {
  const prefix = opts.prefix ?? 'nntp';
  const netnsName = opts.name.startsWith(prefix) ? opts.name : `${prefix}-${opts.name}`;
  for (const n of [opts.ovn?.chassis, opts.ovn?.systemId])
    if (n !== undefined && !n.startsWith(prefix))
      throw new Error(`chassis name ${n} must start with ${prefix}`);
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `${netnsName}-`));
  if (opts.dir) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  const rec = opts.record ?? {};
  const sock = join(dir, 'db.sock');
  const env = ovsEnv(dir);
  const pids: OvsNode['pids'] = { ovsdbServer: 0, vswitchd: 0 };
  const sbName = opts.ovn ? (opts.ovn.systemId ?? opts.ovn.chassis) : undefined;
  const inNode = (cmd: string, args: string[]) => run(cmd, args, { netns: netnsName, env });
  const vsctl = (...args: string[]) => run('ovs-vsctl', [`--db=unix:${sock}`, '--timeout=30', ...args]);
  let netnsCreated = false;

  /** Starts a daemon detached inside the node, with its pidfile and log in the node's dir. */
  const startDaemon = async (cmd: string, args: string[]): Promise<number> => {
    const pidfile = join(dir, `${cmd}.pid`);
    rmSync(pidfile, { force: true });
    await inNode(cmd, [
      ...args,
      `--pidfile=${pidfile}`,
      `--log-file=${join(dir, `${cmd}.log`)}`,
      '--detach',
      '--no-chdir',
    ]);
    const pid = await readPid(pidfile);
    rec.daemon?.(`${opts.name}-${cmd}`, pid, dir);
    return pid;
  };
  const startOvsdbServer = async () => {
    pids.ovsdbServer = await startDaemon('ovsdb-server', [
      join(dir, 'conf.db'),
      `--remote=punix:${sock}`,
      `--unixctl=${join(dir, 'ovsdb-server.ctl')}`,
    ]);
  };
  const startVswitchd = async () => {
    pids.vswitchd = await startDaemon('ovs-vswitchd', [
      `unix:${sock}`,
      `--unixctl=${join(dir, 'ovs-vswitchd.ctl')}`,
    ]);
  };

  const stop = async () => {
    if (pids.ovnController && (await isOurs(pids.ovnController, dir))) {
      // `exit` (without --restart) makes ovn-controller remove its chassis from the SB DB.
      await run('ovs-appctl', ['-t', join(dir, `ovn-controller.${pids.ovnController}.ctl`), 'exit'], {
        env,
        allowFail: true,
      });
      for (let i = 0; i < 50 && (await isOurs(pids.ovnController, dir)); i++) await sleep(100);
    }
    for (const pid of [pids.ovnController, pids.vswitchd, pids.ovsdbServer])
      if (pid) {
        await stopPid(pid, dir);
        rec.daemonGone?.(pid);
      }
    if (opts.ovn && sbName && (await sbHasChassis(opts.ovn.sbRemote, sbName)))
      await run('ovn-sbctl', [`--db=${opts.ovn.sbRemote}`, '--if-exists', 'chassis-del', sbName], {
        allowFail: true,
      });
    if (netnsCreated) await run('ip', ['netns', 'del', netnsName], { allowFail: true });
    if (!process.env.NNTP_KEEP_NODE_DIR) rmSync(dir, { recursive: true, force: true });
  };

  try {
    await run('ip', ['netns', 'add', netnsName]);
    netnsCreated = true;
    rec.netns?.(netnsName);
    await run('ip', ['-n', netnsName, 'link', 'set', 'lo', 'up']);
    await run('ovsdb-tool', ['create', join(dir, 'conf.db'), VSWITCH_SCHEMA]);
    await startOvsdbServer();
    await vsctl('--no-wait', 'init');
    if (opts.ovn)
      await vsctl(
        '--no-wait',
        'set',
        'Open_vSwitch',
        '.',
        `external_ids:system-id=${sbName}`,
        `external_ids:hostname=${opts.ovn.chassis}`,
        `external_ids:ovn-remote="${opts.ovn.sbRemote}"`,
        'external_ids:ovn-encap-type=geneve',
        `external_ids:ovn-encap-ip=${opts.ovn.encapIp}`,
        'external_ids:ovn-bridge=br-int',
        'external_ids:ovn-bridge-datapath-type=netdev',
      );
    await startVswitchd();
    if (opts.underlay) await joinUnderlay(netnsName, opts.underlay, vsctl);
    const brOpts = opts.ovn ? ['fail_mode=secure', 'other_config:disable-in-band=true'] : [];
    await vsctl(
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
    if (opts.ovn && sbName) {
      pids.ovnController = await startDaemon('ovn-controller', [`unix:${sock}`]);
      rec.chassis?.(sbName);
      await waitFor(
        `chassis ${sbName} in ${opts.ovn.sbRemote}`,
        () => sbHasChassis(opts.ovn!.sbRemote, sbName),
        30_000,
      );
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
    vsctl: (...args) => {
      const r = execSync(['ovs-vsctl', `--db=unix:${sock}`, '--timeout=30', ...args]);
      if (r.code !== 0) throw new Error(`ovs-vsctl ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
      return r.stdout;
    },
    exec: (argv) => execSync(['ip', 'netns', 'exec', netnsName, ...argv]),
    restartOvsdbServer: async (signal = 'SIGKILL') => {
      const stoppedPid = pids.ovsdbServer;
      await stopPid(stoppedPid, dir, { signal });
      rec.daemonGone?.(stoppedPid);
      await startOvsdbServer();
      return { stoppedPid, startedPid: pids.ovsdbServer };
    },
    restartVswitchd: async (signal = 'SIGKILL') => {
      const stoppedPid = pids.vswitchd;
      await stopPid(stoppedPid, dir, { signal });
      rec.daemonGone?.(stoppedPid);
      await startVswitchd();
      return { stoppedPid, startedPid: pids.vswitchd };
    },
    stop,
  };
}

/** veth <device> (a br-phy port in the node) ↔ <device>b (in the underlay bridge); the IP on br-phy. */
async function joinUnderlay(
  netns: string,
  u: UnderlayLink,
  vsctl: (...args: string[]) => Promise<unknown>,
): Promise<void> {
  const mtu = String(u.mtu);
  const peer = `${u.device}b`;
  await run('ip', [
    'link',
    'add',
    u.device,
    'netns',
    netns,
    'mtu',
    mtu,
    'type',
    'veth',
    'peer',
    'name',
    peer,
    'netns',
    u.netns,
    'mtu',
    mtu,
  ]);
  await run('ip', ['-n', u.netns, 'link', 'set', peer, 'master', u.bridge, 'up']);
  // veths attached to a netdev bridge need tx offload off on both ends, or TCP stalls
  await run('ethtool', ['-K', u.device, 'tx', 'off'], { netns });
  await run('ethtool', ['-K', peer, 'tx', 'off'], { netns: u.netns });
  await run('ip', ['-n', netns, 'link', 'set', u.device, 'up']);
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
    u.device,
  );
  await vsctl('set', 'interface', 'br-phy', `mtu_request=${mtu}`);
  await waitFor(
    `br-phy in ${netns}`,
    async () => (await run('ip', ['-n', netns, 'link', 'show', 'br-phy'], { allowFail: true })).code === 0,
  );
  await run('ip', ['-n', netns, 'addr', 'add', u.cidr, 'dev', 'br-phy']);
  await run('ip', ['-n', netns, 'link', 'set', 'br-phy', 'up']);
}
