/**
 * kubenetctl's network commands (clusters, networks, subnets, routers) against the env's real
 * Keystone and Neutron, run as the shipped bundle with a store of each test's own. Every Neutron
 * object a test makes is named and tagged with this file's random prefix (nntk-…) and removed
 * after it, also when it fails.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { createSession, loadCredentials } from '../../src/identity/index.ts';
import { createNeutronClient, type NeutronClient } from '../../src/neutron/index.ts';
import { clusterCredentials, connect } from '../../src/resources/index.ts';
import { openStore } from '../../src/store/index.ts';
import { ensureEnv, type TestEnv } from '../support/env.ts';
import { createStandin } from '../support/kubectl-standin/index.ts';
import {
  bundleKubenetctl,
  clusterLeftovers,
  failsWith as fails,
  type KubenetctlRun,
  kubenetctlRunner,
  type RunOptions,
  sweepCluster,
  userEnv,
} from '../support/kubenetctl.ts';

const PREFIX = `nntk-${randomBytes(3).toString('hex')}`;
let env: TestEnv;
let work: string;
let bin: { path: string; remove(): void } | undefined;
let admin: NeutronClient;
const clusters = new Set<string>();
let counter = 0;

before(async () => {
  env = ensureEnv();
  work = mkdtempSync(join(tmpdir(), `${PREFIX}-`));
  bin = await bundleKubenetctl(PREFIX);
  const credentials = loadCredentials({ file: env.cloudsYaml, cloud: env.cloud, env: {} });
  admin = createNeutronClient(createSession(credentials, { cacheDir: join(work, 'admin-tokens') }));
});

after(async () => {
  for (const c of clusters) await sweepCluster(admin, c).catch((e) => console.error(`sweep of ${c}: ${e}`));
  if (work) rmSync(work, { recursive: true, force: true });
  bin?.remove();
});

interface Setup {
  cluster: string;
  storeUrl: string;
  baseEnv: NodeJS.ProcessEnv;
  kubenetctl(args: string[], options?: RunOptions): KubenetctlRun;
  /** kubenetctl, asserting exit 0. */
  ok(args: string[], options?: RunOptions): KubenetctlRun;
  /** What is in Neutron and the store under this cluster. */
  leftovers(): Promise<Record<string, string[]>>;
}

/** A store and a kubectl stand-in of the test's own; the cluster registered unless `register: false`. */
async function setup(t: { after(fn: () => unknown): void }, register = true): Promise<Setup> {
  counter += 1;
  const cluster = `${PREFIX}-c${counter}`;
  clusters.add(cluster);
  const dir = join(work, cluster);
  const storeUrl = `sqlite:${dir}/nnet.db`;
  const standin = createStandin();
  t.after(() => standin.cleanup());
  t.after(() => sweepCluster(admin, cluster));
  const baseEnv: NodeJS.ProcessEnv = { ...userEnv(env, dir, storeUrl), ...standin.env };
  const { run: kubenetctl, ok } = kubenetctlRunner(bin!.path, baseEnv, dir);
  const leftovers = () => clusterLeftovers(admin, storeUrl, cluster);
  if (register) ok(['create', 'cluster', cluster]);
  return { cluster, storeUrl, baseEnv, kubenetctl, ok, leftovers };
}

const NOTHING = { ports: [], networks: [], subnets: [], routers: [], records: [], podConfigs: [] };

// --- clusters --------------------------------------------------------------------------------

test('create cluster registers the verified Keystone identity the CNI plugin can log in with; get never shows the secret', async (t) => {
  const s = await setup(t, false);
  const created = s.ok(['create', 'cluster', s.cluster, '-o', 'json']);
  const object = created.json();
  assert.equal(object.kind, 'Cluster');
  assert.deepEqual(object.metadata, {
    name: s.cluster,
    creationTimestamp: (object.metadata as { creationTimestamp: string }).creationTimestamp,
  });
  const spec = object.spec as Record<string, string>;
  assert.equal(spec.authUrl, env.keystoneUrl);
  assert.equal(spec.user, env.osEnv.OS_USERNAME);
  assert.equal(spec.project, env.osEnv.OS_PROJECT_NAME);
  assert.equal(spec.region, env.region);

  const password = env.osEnv.OS_PASSWORD!;
  for (const format of ['json', 'yaml', 'wide']) {
    const out = s.ok(['get', 'clusters', '-o', format]).stdout;
    assert.ok(!out.includes(password), `get clusters -o ${format} shows no secret`);
    if (format !== 'wide') {
      const parsed = (format === 'json' ? JSON.parse(out) : parseYaml(out)) as { items: unknown[] };
      assert.equal(parsed.items.length, 1);
      assert.deepEqual((parsed.items[0] as { spec: unknown }).spec, spec);
    }
  }
  assert.ok(!s.ok(['describe', 'cluster', s.cluster]).stdout.includes(password));
  assert.equal(spec.credentials, `in ${env.cloudsYaml} (cloud ${env.cloud}) on each node`);
  // The store itself, byte for byte (the database and its write-ahead log), has no secret.
  const dbFile = s.storeUrl.slice('sqlite:'.length);
  for (const f of [dbFile, `${dbFile}-wal`])
    if (existsSync(f)) assert.ok(!readFileSync(f).includes(password), `${f} holds no secret`);

  // What the CNI plugin does with the record: authenticate and reach Neutron.
  const store = await openStore(s.storeUrl);
  try {
    const record = (await store.clusters.get(s.cluster))!;
    const { neutron } = await connect(clusterCredentials(record), {
      tokenCacheDir: join(work, 'cni-tokens'),
      keystoneTimeoutMs: 15_000,
      neutronTimeoutMs: 30_000,
    });
    assert.ok(Array.isArray(await neutron.networks.list({ name: `${s.cluster}-none` })));
  } finally {
    await store.close();
  }

  fails(
    s.kubenetctl(['create', 'cluster', s.cluster]),
    /cluster "nntk-[0-9a-f]+-c\d+" is already registered/,
  );
  s.ok(['delete', 'cluster', s.cluster]);
  assert.equal(s.ok(['get', 'clusters']).stderr, 'No resources found\n');
});

test('a cluster an older N-Net registered with its secret in the store: --migrate-credentials keeps only a reference, and the plugin logs in with it', async (t) => {
  const s = await setup(t, false);
  const password = env.osEnv.OS_PASSWORD!;
  const store = await openStore(s.storeUrl);
  try {
    await store.clusters.put({
      name: s.cluster,
      authUrl: env.keystoneUrl,
      region: env.region,
      credentials: {
        type: 'password',
        username: env.osEnv.OS_USERNAME!,
        userDomain: env.osEnv.OS_USER_DOMAIN_ID ?? 'default',
        password,
        projectName: env.osEnv.OS_PROJECT_NAME!,
        projectDomain: env.osEnv.OS_PROJECT_DOMAIN_ID ?? 'default',
      },
      serviceCidrs: ['10.100.0.0/16'],
    });
  } finally {
    await store.close();
  }
  assert.match(
    s.ok(['describe', 'cluster', s.cluster]).stdout,
    /secret is in the store.*--migrate-credentials/,
  );
  const migrated = s.ok(['create', 'cluster', s.cluster, '--migrate-credentials', '-o', 'json']);
  const spec = migrated.json().spec as Record<string, unknown>;
  assert.equal(spec.credentials, `in ${env.cloudsYaml} (cloud ${env.cloud}) on each node`);
  assert.deepEqual(spec.serviceCidrs, ['10.100.0.0/16'], 'the other settings are kept');
  const after = await openStore(s.storeUrl);
  try {
    const record = (await after.clusters.get(s.cluster))!;
    assert.deepEqual(record.credentials, {
      type: 'node-file',
      path: env.cloudsYaml,
      cloud: env.cloud,
      user: env.osEnv.OS_USERNAME,
      project: env.osEnv.OS_PROJECT_NAME,
    });
    const { neutron } = await connect(clusterCredentials(record), {
      tokenCacheDir: join(work, 'cni-tokens-migrated'),
      keystoneTimeoutMs: 15_000,
      neutronTimeoutMs: 30_000,
    });
    assert.ok(Array.isArray(await neutron.networks.list({ name: `${s.cluster}-none` })));
  } finally {
    await after.close();
  }
  assert.ok(!s.ok(['get', 'clusters', '-o', 'yaml']).stdout.includes(password));
  // Not registered: --migrate-credentials changes an existing cluster only.
  const r = s.kubenetctl(['create', 'cluster', `${s.cluster}-x`, '--migrate-credentials']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /is not registered; --migrate-credentials changes an existing cluster/);
  s.ok(['delete', 'cluster', s.cluster]);
});

test('create cluster refuses credentials in no one file without --node-credentials, and a credentials file open to others', async (t) => {
  const s = await setup(t, false);
  const secretFile = join(work, `secret-${randomBytes(3).toString('hex')}`);
  writeFileSync(secretFile, `${env.osEnv.OS_PASSWORD}\n`, { mode: 0o600 });
  const flags = [
    '--auth-url',
    env.keystoneUrl,
    '--username',
    env.osEnv.OS_USERNAME!,
    '--project',
    env.osEnv.OS_PROJECT_NAME!,
    '--secret-file',
    secretFile,
  ];
  const r = s.kubenetctl(['create', 'cluster', s.cluster, ...flags]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /never keeps a cluster's secret.*--node-credentials PATH/);
  const open = join(work, `open-${randomBytes(3).toString('hex')}.yaml`);
  writeFileSync(open, readFileSync(env.cloudsYaml), { mode: 0o644 });
  const r2 = s.kubenetctl([
    'create',
    'cluster',
    s.cluster,
    ...flags,
    '--node-credentials',
    open,
    '--node-cloud',
    env.cloud,
  ]);
  assert.equal(r2.status, 1, r2.stderr);
  assert.match(r2.stderr, /is open to others \(mode 644\).*chmod 600/);
  assert.equal(s.ok(['get', 'clusters']).stderr, 'No resources found\n', 'nothing stored');
  const ok = s.ok([
    'create',
    'cluster',
    s.cluster,
    ...flags,
    '--node-credentials',
    env.cloudsYaml,
    '--node-cloud',
    env.cloud,
    '-o',
    'json',
  ]);
  assert.equal(
    (ok.json().spec as Record<string, unknown>).credentials,
    `in ${env.cloudsYaml} (cloud ${env.cloud}) on each node`,
  );
  s.ok(['delete', 'cluster', s.cluster]);
});

test('create cluster with a password Keystone rejects: clear error, exit 1, nothing stored, secret not echoed', async (t) => {
  const s = await setup(t, false);
  const wrong = `wrong-${randomBytes(6).toString('hex')}`;
  const r = s.kubenetctl(
    [
      'create',
      'cluster',
      s.cluster,
      '--auth-url',
      env.keystoneUrl,
      '--username',
      env.osEnv.OS_USERNAME!,
      '--project',
      env.osEnv.OS_PROJECT_NAME!,
      '--secret-stdin',
      '--node-credentials',
      '/etc/nnet/clouds.yaml',
    ],
    { input: `${wrong}\n` },
  );
  fails(r, new RegExp(`^error: cluster "${s.cluster}" not registered: .*rejected`));
  assert.ok(!r.stderr.includes(wrong));
  assert.equal(s.ok(['get', 'clusters']).stderr, 'No resources found\n');
});

test('create cluster --default-network/--default-subnet records their Neutron ids; get shows the names', async (t) => {
  const s = await setup(t);
  const net = `${s.cluster}-net`;
  s.ok(['create', 'network', net]);
  s.ok(['create', 'subnet', `${s.cluster}-sub`, '--network', net, '--cidr', '10.77.0.0/24']);
  const other = `${s.cluster}-b`;
  const created = s.ok([
    'create',
    'cluster',
    other,
    '--cloud',
    env.cloud,
    '--clouds-file',
    env.cloudsYaml,
    '--default-network',
    net,
    '--default-subnet',
    `${s.cluster}-sub`,
    '-o',
    'yaml',
  ]);
  const spec = (parseYaml(created.stdout) as { spec: Record<string, string> }).spec;
  assert.equal(spec.defaultNetwork, net);
  assert.equal(spec.defaultSubnet, `${s.cluster}-sub`);
  const store = await openStore(s.storeUrl);
  try {
    const record = (await store.clusters.get(other))!;
    const [network] = await admin.networks.list({ name: net });
    assert.equal(record.defaultNetworkId, network!.id);
    assert.equal(record.defaultSubnetId, network!.subnets[0]);
  } finally {
    await store.close();
  }
  // A network that is a cluster's default is not deleted under it.
  fails(
    s.kubenetctl(['delete', 'network', net, '--cluster', s.cluster]),
    new RegExp(`network ${net} is in use by cluster ${other} \\(its default network\\)`),
  );
  s.ok(['delete', 'cluster', other]);
  s.ok(['delete', 'network', net]);
  assert.deepEqual(await s.leftovers(), NOTHING);
});

test('no cluster registered, an unregistered cluster, several clusters, no credentials: clear errors, exit 1', async (t) => {
  const s = await setup(t, false);
  fails(
    s.kubenetctl(['get', 'networks']),
    /^error: no cluster is registered in the N-Net store sqlite:.*\(it does not exist yet\)\nhint: register the cluster with 'kubenetctl create cluster NAME'\n$/,
  );
  s.ok(['create', 'cluster', s.cluster]);
  fails(
    s.kubenetctl(['get', 'networks', '--cluster', 'nope']),
    /^error: cluster "nope" \(from --cluster\) is not registered in the N-Net store /,
  );
  fails(
    s.kubenetctl(['get', 'networks'], { env: { NNET_CLUSTER: 'nope' } }),
    /cluster "nope" \(from NNET_CLUSTER\) is not registered/,
  );
  s.ok(['create', 'cluster', `${s.cluster}-x`]);
  t.after(() => s.kubenetctl(['delete', 'cluster', `${s.cluster}-x`]));
  fails(s.kubenetctl(['get', 'networks']), /has 2 clusters .*: choose one with --cluster or NNET_CLUSTER/);
  s.ok(['get', 'networks', '--cluster', s.cluster]);
  fails(
    s.kubenetctl(['get', 'networks', '--cluster', s.cluster], {
      env: { OS_CLOUD: '', OS_CLIENT_CONFIG_FILE: '' },
    }),
    /^error: kubenetctl needs your OpenStack credentials: no OpenStack credentials.*\nhint: kubenetctl finds OpenStack credentials as the openstack CLI does/s,
  );
  fails(
    s.kubenetctl(['get', 'networks', '--cluster', s.cluster, '--os-cloud', 'no-such-cloud']),
    /OpenStack cloud "no-such-cloud" not found/,
  );
});

// --- networks, subnets, routers ----------------------------------------------------------------

test('networks, subnets and a router joining 1.2.0.0/16 and 192.168.10.0/24: created tagged and recorded, json/yaml round-trip, deleted without a trace', async (t) => {
  const s = await setup(t);
  const net = `${s.cluster}-net`;
  const created = s.ok(['create', 'network', net, '--mtu', '1400', '-o', 'json']).json();
  assert.equal(created.kind, 'Network');
  const netId = (created.metadata as { uid: string }).uid;
  assert.deepEqual((created.spec as { mtu: number; cluster: string }).mtu, 1400);
  const inNeutron = await admin.networks.get(netId);
  assert.deepEqual(inNeutron.tags.sort(), ['nnet', `nnet-cluster=${s.cluster}`]);
  assert.equal(inNeutron.mtu, 1400);

  const a = parseYaml(
    s.ok(['create', 'subnet', `${s.cluster}-a`, '--network', net, '--cidr', '1.2.0.0/16', '-o', 'yaml'])
      .stdout,
  ) as { spec: Record<string, unknown> };
  assert.equal(a.spec.cidr, '1.2.0.0/16');
  assert.equal(a.spec.gateway, '1.2.0.1');
  assert.equal(a.spec.network, net);
  s.ok([
    'create',
    'subnet',
    `${s.cluster}-b`,
    '--network',
    net,
    '--cidr',
    '192.168.10.0/24',
    '--gateway',
    '192.168.10.254',
    '--allocation-pool',
    '192.168.10.50-192.168.10.200',
    '--dns',
    '192.168.10.2',
    '--no-dhcp',
  ]);
  const b = (await admin.subnets.list({ name: `${s.cluster}-b` }))[0]!;
  assert.equal(b.gatewayIp, '192.168.10.254');
  assert.deepEqual(b.allocationPools, [{ start: '192.168.10.50', end: '192.168.10.200' }]);
  assert.deepEqual(b.dnsNameservers, ['192.168.10.2']);
  assert.equal(b.enableDhcp, false);
  assert.ok(b.tags.includes(`nnet-cluster=${s.cluster}`));

  const table = s.ok(['get', 'networks']).stdout;
  assert.match(table, /^NAME +SUBNETS +STATUS +AGE\n/);
  assert.match(table, new RegExp(`\\n?${net} +1\\.2\\.0\\.0/16,192\\.168\\.10\\.0/24 +ACTIVE +\\d+s\\n`));
  const list = s.ok(['get', 'networks', '-o', 'json']).json() as {
    kind: string;
    items: Record<string, unknown>[];
  };
  assert.equal(list.kind, 'List');
  assert.equal(list.items.length, 1);
  assert.deepEqual(
    ((list.items[0]!.status as { subnets: { cidr: string }[] }).subnets ?? []).map((x) => x.cidr).sort(),
    ['1.2.0.0/16', '192.168.10.0/24'],
  );
  const one = s.ok(['get', 'network', net, '-o', 'yaml']).stdout;
  assert.equal((parseYaml(one) as { metadata: { uid: string } }).metadata.uid, netId);
  assert.equal(s.ok(['get', 'networks', '-o', 'name']).stdout, `network/${net}\n`);
  // --all: every network the user can see, ours among them with its cluster.
  const all = s.ok(['get', 'networks', '--all', '-o', 'json']).json() as {
    items: { metadata: { uid: string }; spec: { cluster?: string } }[];
  };
  assert.ok(all.items.length >= 1);
  assert.equal(all.items.find((i) => i.metadata.uid === netId)?.spec.cluster, s.cluster);
  const subnets = s.ok(['get', 'subnets', '-o', 'wide']).stdout;
  assert.match(subnets, /ALLOCATION-POOLS/);
  assert.match(subnets, /192\.168\.10\.50-192\.168\.10\.200/);

  const router = `${s.cluster}-r`;
  s.ok(['create', 'router', router]);
  assert.match(
    s.ok(['connect', 'router', router, '--subnet', '1.2.0.0/16']).stdout,
    new RegExp(`^router/${router} connected to subnet ${s.cluster}-a \\(1\\.2\\.0\\.0/16\\)\\n$`),
  );
  s.ok(['connect', 'router', router, '--subnet', `${s.cluster}-b`]);
  const routers = s.ok(['get', 'routers', router, '-o', 'json']).json() as {
    status: { subnets: { cidr: string }[] };
  };
  assert.deepEqual(
    routers.status.subnets.map((x) => x.cidr),
    ['1.2.0.0/16', '192.168.10.0/24'],
  );
  assert.match(
    s.ok(['get', 'routers']).stdout,
    new RegExp(`${router} +1\\.2\\.0\\.0/16,192\\.168\\.10\\.0/24 `),
  );

  // In use: each refusal names what uses it, and deletes nothing.
  fails(
    s.kubenetctl(['delete', 'router', router]),
    new RegExp(
      `router ${router} still connects subnets ${s.cluster}-a \\(1\\.2\\.0\\.0/16\\), ${s.cluster}-b`,
    ),
  );
  fails(
    s.kubenetctl(['delete', 'subnet', `${s.cluster}-a`]),
    new RegExp(`is in use by router ${router} \\(`),
  );
  fails(
    s.kubenetctl(['delete', 'network', net]),
    new RegExp(`network ${net} is in use by router ${router} \\(`),
  );
  assert.equal((await s.leftovers()).subnets?.length, 2);

  s.ok(['disconnect', 'router', router, '--subnet', `${s.cluster}-a`]);
  fails(
    s.kubenetctl(['disconnect', 'router', router, '--subnet', '1.2.0.0/16']),
    /does not connect subnet .*\(it connects 192\.168\.10\.0\/24\)/,
  );
  s.ok(['disconnect', 'router', router, '--subnet', '192.168.10.0/24']);
  assert.equal(s.ok(['delete', 'router', router]).stdout, `router "${router}" deleted\n`);
  s.ok(['delete', 'subnet', `${s.cluster}-b`]);
  assert.equal(s.ok(['delete', 'network', net]).stdout, `network "${net}" deleted\n`);
  assert.deepEqual(await s.leftovers(), NOTHING);
  assert.equal(s.ok(['get', 'networks']).stderr, 'No resources found\n');
});

test('bad input to create subnet/network: bad CIDR, overlap, unknown network, taken name: exit 1, clear message, nothing left', async (t) => {
  const s = await setup(t);
  const net = `${s.cluster}-net`;
  s.ok(['create', 'network', net]);
  s.ok(['create', 'subnet', `${s.cluster}-a`, '--network', net, '--cidr', '1.2.0.0/16']);
  const before = await s.leftovers();

  fails(
    s.kubenetctl(['create', 'subnet', `${s.cluster}-x`, '--network', net, '--cidr', '1.2.3.0/16']),
    /^error: invalid argument "1\.2\.3\.0\/16" for "--cidr" flag: host bits are set \(did you mean 1\.2\.0\.0\/16\?\)\n$/,
  );
  fails(
    s.kubenetctl(['create', 'subnet', `${s.cluster}-x`, '--network', net, '--cidr', '1.2.300.0/24']),
    /for "--cidr" flag: not a CIDR/,
  );
  fails(
    s.kubenetctl(['create', 'subnet', `${s.cluster}-x`, '--network', net, '--cidr', '1.2.3.0/24']),
    new RegExp(
      `^error: subnet 1\\.2\\.3\\.0/24 overlaps subnet ${s.cluster}-a \\(1\\.2\\.0\\.0/16\\) on network ${net}\\n$`,
    ),
  );
  fails(
    s.kubenetctl([
      'create',
      'subnet',
      `${s.cluster}-x`,
      '--network',
      `${s.cluster}-nope`,
      '--cidr',
      '10.9.0.0/24',
    ]),
    new RegExp(`^error: network "${s.cluster}-nope" not found\\n$`),
  );
  fails(
    s.kubenetctl(['create', 'subnet', `${s.cluster}-a`, '--network', net, '--cidr', '10.9.0.0/24']),
    new RegExp(`^error: subnet "${s.cluster}-a" already exists \\(`),
  );
  fails(s.kubenetctl(['create', 'network', net]), new RegExp(`^error: network "${net}" already exists`));
  fails(
    s.kubenetctl([
      'create',
      'subnet',
      `${s.cluster}-x`,
      '--network',
      net,
      '--cidr',
      '10.9.0.0/24',
      '--gateway',
      '10.9.1.1',
    ]),
    /for "--gateway" flag: is not inside 10\.9\.0\.0\/24/,
  );
  fails(
    s.kubenetctl(['delete', 'network', `${s.cluster}-nope`]),
    /not found among the networks N-Net manages for cluster/,
  );
  assert.deepEqual(await s.leftovers(), before);

  // Without its subnet's users, a network goes with its subnets, records included.
  s.ok(['delete', 'network', net]);
  assert.deepEqual(await s.leftovers(), NOTHING);
});

test('get and describe of names that do not exist: the ones found, then an error per missing name, exit 1', async (t) => {
  const s = await setup(t);
  const net = `${s.cluster}-net`;
  s.ok(['create', 'network', net]);
  const r = s.kubenetctl(['get', 'networks', net, 'nope']);
  assert.equal(r.status, 1);
  assert.match(r.stdout, new RegExp(`^NAME .*\\n${net} `));
  assert.equal(r.stderr, 'error: network "nope" not found\n');
  const d = s.kubenetctl(['describe', 'network', net]);
  assert.equal(d.status, 0);
  assert.match(
    d.stdout,
    new RegExp(`^Name: +${net}\\nID: +[0-9a-f-]{36}\\nCluster: +${s.cluster}\\nStatus: +ACTIVE\\n`),
  );
  s.ok(['delete', 'network', net]);
});

test('a secret file readable by others is refused before anything happens', async (t) => {
  const s = await setup(t, false);
  const file = join(work, `${s.cluster}-secret`);
  writeFileSync(file, 'not-the-password\n', { mode: 0o644 });
  fails(
    s.kubenetctl([
      'create',
      'cluster',
      s.cluster,
      '--auth-url',
      env.keystoneUrl,
      '--username',
      'u',
      '--project',
      'p',
      '--secret-file',
      file,
    ]),
    /--secret-file .* is readable by others \(mode 644\): chmod 600 it first/,
  );
  assert.equal(s.ok(['get', 'clusters']).stderr, 'No resources found\n');
});
