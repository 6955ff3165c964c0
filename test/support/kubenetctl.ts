/**
 * Running kubenetctl in tests as users run it: the shipped bundle (scripts/build.ts bundle()) in
 * a child process, with a HOME, store and token cache of the test's own and the test env's
 * clouds.yaml as the user's OpenStack credentials.
 *
 *   const bin = await bundleKubenetctl(PREFIX);
 *   const k = kubenetctlRunner(bin.path, userEnv(env, dir, `sqlite:${dir}/nnet.db`), dir);
 *   k.ok(['create', 'network', 'pods']);
 *   failsWith(k.run(['create', 'network', 'pods']), /already exists/);
 *   bin.remove();
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { bundle } from '../../scripts/build.ts';
import type { NeutronClient } from '../../src/neutron/index.ts';
import { openStore } from '../../src/store/index.ts';
import { PROJECT_ROOT, type TestEnv } from './env.ts';

export interface KubenetctlRun extends SpawnSyncReturns<string> {
  json(): Record<string, unknown>;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
}

export interface Kubenetctl {
  run(args: string[], options?: RunOptions): KubenetctlRun;
  /** run(), asserting exit 0. */
  ok(args: string[], options?: RunOptions): KubenetctlRun;
}

/** Bundles kubenetctl; inside the project, so that the bundle finds the native better-sqlite3. */
export async function bundleKubenetctl(prefix: string): Promise<{ path: string; remove(): void }> {
  mkdirSync(join(PROJECT_ROOT, 'node_modules', '.cache'), { recursive: true });
  const dir = mkdtempSync(join(PROJECT_ROOT, 'node_modules', '.cache', `${prefix}-`));
  const path = join(dir, 'kubenetctl.js');
  await bundle('kubenetctl', path);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A user's environment under `dir` (HOME, token cache) with `storeUrl` and the env's clouds.yaml. */
export function userEnv(env: TestEnv, dir: string, storeUrl: string): NodeJS.ProcessEnv {
  mkdirSync(join(dir, 'home'), { recursive: true });
  return {
    PATH: process.env.PATH,
    HOME: join(dir, 'home'),
    LANG: 'C',
    NNET_STORE: storeUrl,
    NNET_TOKEN_CACHE_DIR: join(dir, 'tokens'),
    OS_CLIENT_CONFIG_FILE: env.cloudsYaml,
    OS_CLOUD: env.cloud,
  };
}

export function kubenetctlRunner(bundlePath: string, baseEnv: NodeJS.ProcessEnv, cwd: string): Kubenetctl {
  const run = (args: string[], options: RunOptions = {}): KubenetctlRun => {
    const r = spawnSync(process.execPath, [bundlePath, ...args], {
      env: { ...baseEnv, ...options.env },
      input: options.input ?? '',
      encoding: 'utf8',
      timeout: 120_000,
      cwd,
    });
    return Object.assign(r, { json: () => JSON.parse(r.stdout) as Record<string, unknown> });
  };
  return {
    run,
    ok(args, options) {
      const r = run(args, options);
      assert.equal(r.status, 0, `kubenetctl ${args.join(' ')}: ${r.stderr}`);
      return r;
    },
  };
}

/** Failed as kubectl fails: exit 1, nothing on stdout, `error: …` matching `message` on stderr. */
export function failsWith(r: KubenetctlRun, message: RegExp, what = 'kubenetctl'): void {
  assert.equal(r.status, 1, `${what}: expected exit 1: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^error: /);
  assert.match(r.stderr, message);
}

/**
 * What kubenetctl made for a cluster: Neutron objects by the cluster's tag, store records and pod
 * configs (by id; ports as "ID IP,IP"). Equal before and after a command: it left nothing.
 */
export async function clusterLeftovers(
  admin: NeutronClient,
  storeUrl: string,
  cluster: string,
): Promise<Record<string, string[]>> {
  const tags = [`nnet-cluster=${cluster}`];
  const store = await openStore(storeUrl);
  try {
    return {
      ports: (await admin.ports.list({ tags })).map(
        (p) => `${p.id} ${p.fixedIps.map((f) => f.ipAddress).join(',')}`,
      ),
      networks: (await admin.networks.list({ tags })).map((n) => n.id),
      subnets: (await admin.subnets.list({ tags })).map((s) => s.id),
      routers: (await admin.routers.list({ tags })).map((r) => r.id),
      records: (await store.resources.list({ cluster })).map((r) => `${r.kind}/${r.id}`),
      podConfigs: (await store.podConfigs.list({ cluster })).map((c) => `${c.namespace}/${c.pod}`),
    };
  } finally {
    await store.close();
  }
}

/** Removes whatever kubenetctl left in Neutron for a cluster (everything it makes carries the cluster's tag). */
export async function sweepCluster(admin: NeutronClient, cluster: string): Promise<void> {
  const tags = [`nnet-cluster=${cluster}`];
  for (const p of await admin.ports.list({ tags })) await admin.ports.ensureDeleted(p.id);
  for (const r of await admin.routers.list({ tags })) {
    for (const p of await admin.ports.list({ deviceId: r.id }))
      for (const f of p.fixedIps)
        await admin.routers.removeInterface(r.id, { subnetId: f.subnetId }).catch(() => undefined);
    await admin.routers.ensureDeleted(r.id);
  }
  for (const n of await admin.networks.list({ tags })) {
    for (const p of await admin.ports.list({ networkId: n.id }))
      if (!p.deviceOwner.startsWith('network:')) await admin.ports.ensureDeleted(p.id);
    await admin.networks.ensureDeleted(n.id);
  }
  // Tagged subnets on networks that are not the cluster's.
  for (const s of await admin.subnets.list({ tags })) await admin.subnets.ensureDeleted(s.id);
}

/**
 * The built kubenetctl (dist/kubenetctl.js) on a test cluster's store: as a member of the
 * cluster's project (its users), or as the env's admin.
 */
export function clusterKubenetctl(
  c: { storeUrl: string; name: string; env: TestEnv; rt: { dir: string } },
  args: string[],
  as: 'member' | 'admin' = 'member',
): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [join(PROJECT_ROOT, 'dist/kubenetctl.js'), ...args], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '',
      NNET_STORE: c.storeUrl,
      NNET_CLUSTER: c.name,
      OS_CLIENT_CONFIG_FILE: c.env.cloudsYaml,
      OS_CLOUD: as === 'member' ? c.env.memberCloud : c.env.cloud,
      NNET_TOKEN_CACHE_DIR: join(c.rt.dir, 'ctl-tokens'),
    },
    timeout: 120_000,
  });
}
