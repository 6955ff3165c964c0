/** What the benchmark ran on, and how busy the machine was meanwhile (other work shares it). */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { SYSTEM_PATH } from '../lab/sh.ts';
import { PROJECT_ROOT } from '../test/support/env.ts';

const first = (argv: string[]): string => {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { PATH: SYSTEM_PATH } });
  return (r.stdout || r.stderr || '').split('\n')[0]!.trim();
};

export interface Machine {
  date: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  node: string;
  openvswitch: string;
  ovn: string;
  iperf3: string;
  neutron: string;
  keystone: string;
  ovsKernelModule: boolean;
  /** neutron-server's api_workers in the test environment. */
  neutronApiWorkers: string;
  gitCommit: string;
}

export function machine(): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const osRelease = readFileSync('/etc/os-release', 'utf8');
  const pkg = (p: string) => first(['dpkg-query', '-W', p]).split('\t')[1] ?? 'unknown';
  return {
    date: new Date().toISOString(),
    cpuModel: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.release()} ${os.version()}`,
    os: /PRETTY_NAME="(.+)"/.exec(osRelease)?.[1] ?? 'unknown',
    node: process.version,
    openvswitch: first(['ovs-vswitchd', '--version']),
    ovn: first(['ovn-controller', '--version']),
    iperf3: first(['iperf3', '--version']),
    neutron: pkg('neutron-server'),
    keystone: pkg('keystone'),
    // No module here: every OVS bridge is datapath_type=netdev (userspace).
    ovsKernelModule: existsSync('/sys/module/openvswitch'),
    neutronApiWorkers: (() => {
      try {
        const conf = readFileSync(join(PROJECT_ROOT, '.lab/env/openstack/neutron/neutron.conf'), 'utf8');
        return /^api_workers\s*=\s*(\S+)/m.exec(conf)?.[1] ?? 'default';
      } catch {
        return 'unknown';
      }
    })(),
    gitCommit: first(['git', '-C', PROJECT_ROOT, 'rev-parse', '--short', 'HEAD']),
  };
}

export interface LoadSample {
  t: number; // seconds since the start
  phase: string;
  load1: number;
  load5: number;
}

/** Samples the 1- and 5-minute load average every `everyMs`, tagged with the current phase. */
export function loadSampler(everyMs = 5000) {
  const t0 = Date.now();
  const samples: LoadSample[] = [];
  let phase = 'start';
  const take = () => {
    const [l1, l5] = os.loadavg();
    samples.push({ t: Math.round((Date.now() - t0) / 100) / 10, phase, load1: l1!, load5: l5! });
  };
  take();
  const timer = setInterval(take, everyMs);
  timer.unref();
  return {
    phase(p: string) {
      phase = p;
      take();
    },
    stop(): LoadSample[] {
      clearInterval(timer);
      take();
      return samples;
    },
    byPhase(): Record<string, { mean1: number; max1: number }> {
      const out: Record<string, { mean1: number; max1: number }> = {};
      for (const p of new Set(samples.map((s) => s.phase))) {
        const xs = samples.filter((s) => s.phase === p).map((s) => s.load1);
        out[p] = {
          mean1: Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 100) / 100,
          max1: Math.round(Math.max(...xs) * 100) / 100,
        };
      }
      return out;
    },
  };
}
