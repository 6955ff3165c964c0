/**
 * kubenetctl latency benchmark (not a test): the network commands end to end, as a user runs
 * them, against the env's Keystone and Neutron.
 *
 *   npm run build && node --import tsx bench/cli.ts [--runs 20]
 *
 * Runs the built dist/kubenetctl.js (one process per command, as from a shell) with a store and
 * a token cache of its own, registers a cluster `nntk-bench-…` with a network and a 1.2.0.0/16
 * subnet, times `get networks`, `create/delete subnet`, `create/delete podnetwork` and
 * `get podnetworks` --runs times each, prints p50/p90/max against the 0.5 s p50 target, and
 * removes everything it created.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createSession, loadCredentials } from '../src/identity/index.ts';
import { createNeutronClient } from '../src/neutron/index.ts';
import { ensureEnv, PROJECT_ROOT } from '../test/support/env.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const RUNS = Math.min(200, Math.max(1, Number(args.runs)));
const TARGET_P50_S = 0.5;
const KUBENETCTL = join(PROJECT_ROOT, 'dist/kubenetctl.js');

if (!existsSync(KUBENETCTL)) {
  console.error(`${KUBENETCTL} is missing: run "npm run build" first`);
  process.exit(1);
}

const env = ensureEnv();
const prefix = `nntk-bench-${randomBytes(3).toString('hex')}`;
const work = mkdtempSync(join(tmpdir(), `${prefix}-`));
mkdirSync(join(work, 'home'));
const runEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: join(work, 'home'),
  LANG: 'C',
  NNET_STORE: `sqlite:${work}/nnet.db`,
  NNET_TOKEN_CACHE_DIR: join(work, 'tokens'),
  OS_CLIENT_CONFIG_FILE: env.cloudsYaml,
  OS_CLOUD: env.cloud,
};

/** Runs kubenetctl once; returns its wall-clock time in seconds (throws on failure). */
function kubenetctl(argv: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [KUBENETCTL, ...argv], {
    env: runEnv,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`kubenetctl ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return seconds;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

const samples = new Map<string, number[]>();
const time = (label: string, argv: string[]) => {
  const list = samples.get(label) ?? [];
  list.push(kubenetctl(argv));
  samples.set(label, list);
};

async function cleanup(): Promise<void> {
  // Whatever a failed run left: N-Net's ports of the cluster, then its network (subnets go with it).
  const admin = createNeutronClient(
    createSession(loadCredentials({ file: env.cloudsYaml, cloud: env.cloud, env: {} }), {
      cacheDir: join(work, 'admin-tokens'),
    }),
  );
  const tags = [`nnet-cluster=${prefix}`];
  for (const p of await admin.ports.list({ tags })) await admin.ports.ensureDeleted(p.id);
  for (const n of await admin.networks.list({ tags })) await admin.networks.ensureDeleted(n.id);
  rmSync(work, { recursive: true, force: true });
}

try {
  kubenetctl(['create', 'cluster', prefix]);
  kubenetctl(['create', 'network', `${prefix}-net`]);
  kubenetctl(['create', 'subnet', `${prefix}-pods`, '--network', `${prefix}-net`, '--cidr', '1.2.0.0/16']);
  kubenetctl(['get', 'networks']); // warm the token cache, as any user's second command finds it
  for (let i = 0; i < RUNS; i++) {
    time('get networks', ['get', 'networks']);
    const subnet = `${prefix}-s${i}`;
    time('create subnet', [
      'create',
      'subnet',
      subnet,
      '--network',
      `${prefix}-net`,
      '--cidr',
      `10.${i}.0.0/24`,
    ]);
    time('delete subnet', ['delete', 'subnet', subnet]);
    const pod = `pod${i}`;
    time('create podnetwork', [
      'create',
      'podnetwork',
      pod,
      '-n',
      'bench',
      '--subnet',
      '1.2.0.0/16',
      '--ip',
      `1.2.0.${10 + i}`,
    ]);
    time('get podnetworks', ['get', 'podnetworks', '-n', 'bench']);
    time('delete podnetwork', ['delete', 'podnetwork', pod, '-n', 'bench']);
  }
  kubenetctl(['delete', 'network', `${prefix}-net`]);

  const rows = [...samples].map(([label, xs]) => {
    const p50 = quantile(xs, 0.5);
    return [
      label,
      String(xs.length),
      p50.toFixed(3),
      quantile(xs, 0.9).toFixed(3),
      Math.max(...xs).toFixed(3),
      p50 <= TARGET_P50_S ? 'ok' : 'SLOW',
    ];
  });
  const headers = ['COMMAND', 'RUNS', 'P50 (s)', 'P90 (s)', 'MAX (s)', `P50 <= ${TARGET_P50_S} s`];
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('   ')
      .trimEnd();
  console.log(`kubenetctl (${KUBENETCTL}) against Neutron ${env.neutronUrl}, ${RUNS} runs each:\n`);
  console.log(line(headers));
  for (const r of rows) console.log(line(r));
  if (rows.some((r) => r[5] !== 'ok')) process.exitCode = 1;
} finally {
  await cleanup();
}
