/**
 * kubenetctl as `kubectl nnet`, through the real kubectl's plugin mechanism: an executable named
 * kubectl-nnet (a symlink to the bundle, as the README installs it) on PATH, found and run by
 * kubectl, against the env's real Keystone and Neutron with a store of the test's own. Every
 * Neutron object is named and tagged with this file's random prefix (nntp-…) and removed after.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pkg from '../../package.json' with { type: 'json' };
import { bundle as bundleBinary } from '../../scripts/build.ts';
import { createSession, loadCredentials } from '../../src/identity/index.ts';
import { createNeutronClient, type NeutronClient } from '../../src/neutron/index.ts';
import { ensureEnv, PROJECT_ROOT, type TestEnv } from '../support/env.ts';

const PREFIX = `nntp-${randomBytes(3).toString('hex')}`;
const CLUSTER = `${PREFIX}-c`;
let env: TestEnv;
let work: string;
let bundleDir: string;
let admin: NeutronClient;
let baseEnv: NodeJS.ProcessEnv;

before(async () => {
  env = ensureEnv();
  work = mkdtempSync(join(tmpdir(), `${PREFIX}-`));
  // Inside the project, so that the bundle finds the native better-sqlite3 in node_modules.
  mkdirSync(join(PROJECT_ROOT, 'node_modules', '.cache'), { recursive: true });
  bundleDir = mkdtempSync(join(PROJECT_ROOT, 'node_modules', '.cache', `${PREFIX}-`));
  await bundleBinary('kubenetctl', join(bundleDir, 'kubenetctl.js'));
  const bin = join(work, 'bin');
  mkdirSync(bin);
  symlinkSync(join(bundleDir, 'kubenetctl.js'), join(bin, 'kubectl-nnet'));
  mkdirSync(join(work, 'home'));
  baseEnv = {
    PATH: `${bin}:${process.env.PATH}`,
    HOME: join(work, 'home'),
    KUBECONFIG: join(work, 'home', 'no-kubeconfig'),
    LANG: 'C',
    NNET_STORE: `sqlite:${work}/nnet.db`,
    NNET_TOKEN_CACHE_DIR: join(work, 'tokens'),
    OS_CLIENT_CONFIG_FILE: env.cloudsYaml,
    OS_CLOUD: env.cloud,
  };
  const credentials = loadCredentials({ file: env.cloudsYaml, cloud: env.cloud, env: {} });
  admin = createNeutronClient(createSession(credentials, { cacheDir: join(work, 'admin-tokens') }));
});

after(async () => {
  const tags = [`nnet-cluster=${CLUSTER}`];
  try {
    for (const p of await admin.ports.list({ tags })) await admin.ports.ensureDeleted(p.id);
    for (const n of await admin.networks.list({ tags })) {
      for (const p of await admin.ports.list({ networkId: n.id }))
        if (!p.deviceOwner.startsWith('network:')) await admin.ports.ensureDeleted(p.id);
      await admin.networks.ensureDeleted(n.id);
    }
  } catch (e) {
    console.error(`cleanup of ${CLUSTER}: ${e}`);
  }
  if (work) rmSync(work, { recursive: true, force: true });
  if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
});

/** `kubectl ARGS`: the real kubectl, which finds kubectl-nnet on PATH for `kubectl nnet …`. */
function kubectl(args: string[]): SpawnSyncReturns<string> {
  return spawnSync('kubectl', args, { env: baseEnv, encoding: 'utf8', timeout: 120_000, cwd: work });
}
function ok(args: string[]): string {
  const r = kubectl(args);
  assert.equal(r.status, 0, `kubectl ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

test('kubectl finds kubectl-nnet on PATH as a plugin', () => {
  assert.match(ok(['plugin', 'list']), new RegExp(`${work}/bin/kubectl-nnet`));
});

test('kubectl nnet version prints N-Net’s version (kubectl version prints kubectl’s)', () => {
  assert.equal(ok(['nnet', 'version']), `N-Net (kubectl nnet) Version: v${pkg.version}\n`);
});

test('kubectl nnet creates and gets networks, subnets and podnetworks in the real Neutron', async () => {
  ok(['nnet', 'create', 'cluster', CLUSTER]);
  ok(['nnet', 'create', 'network', `${PREFIX}-net`]);
  const cidr = `10.${200 + (randomBytes(1)[0]! % 50)}.${randomBytes(1)[0]}.0/24`;
  ok(['nnet', 'create', 'subnet', `${PREFIX}-sub`, '--network', `${PREFIX}-net`, '--cidr', cidr]);

  const networks = ok(['nnet', 'get', 'networks']);
  assert.match(networks, /^NAME\s/);
  assert.match(networks, new RegExp(`^${PREFIX}-net\\s`, 'm'));
  const [net] = await admin.networks.list({ name: `${PREFIX}-net` });
  assert.ok(net, 'the network is in Neutron');

  const ip = cidr.replace(/0\/24$/, '77');
  ok(['nnet', 'create', 'podnetwork', 'pod1', '-n', 'default', '--subnet', cidr, '--ip', ip]);
  const podnetworks = ok(['nnet', 'get', 'podnetworks', '-n', 'default']);
  assert.match(
    podnetworks,
    new RegExp(`^default\\s+pod1\\s+${cidr.replace(/\./g, '\\.')}\\s+${ip.replace(/\./g, '\\.')}\\s`, 'm'),
  );
  const ports = await admin.ports.list({ networkId: net.id });
  assert.ok(
    ports.some((p) => p.fixedIps.some((f) => f.ipAddress === ip)),
    'the IP is reserved by a Neutron port',
  );
  ok(['nnet', 'delete', 'podnetwork', 'pod1', '-n', 'default']);
});

test('kubectl nnet refuses a line that is kubectl’s own, naming the command to run', () => {
  const r = kubectl(['nnet', 'get', 'pods']);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /"kubectl nnet get pods" is not an N-Net command; .* kubectl get pods/);
});
