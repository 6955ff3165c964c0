/**
 * kubenetctl's pod flow against the env's real Keystone and Neutron: `run … --subnet --ip`, the
 * manifest form (`apply|create|delete -f` with nnet.io/* annotations), `delete pod`, and the
 * network-only `create|get|delete podnetwork`. kubectl is the recording STAND-IN
 * (test/support/kubectl-standin), not kubectl: no API server exists here, and the tests check
 * exactly what kubectl is handed. One real ADD through libcni (test/support/cluster.ts) shows the
 * CNI plugin's side in `get podnetworks`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSession, loadCredentials } from '../../src/identity/index.ts';
import { createNeutronClient, type NeutronClient, type Port } from '../../src/neutron/index.ts';
import {
  DEVICE_OWNER,
  NODE_PORT_OWNER,
  RESERVED_TAG,
  reservationDescription,
  reservePort,
} from '../../src/resources/index.ts';
import { openStore, type PodNetworkConfig } from '../../src/store/index.ts';
import { startTestCluster } from '../support/cluster.ts';
import { ensureEnv, type TestEnv } from '../support/env.ts';
import { createStandin } from '../support/kubectl-standin/index.ts';
import {
  bundleKubenetctl,
  failsWith,
  type Kubenetctl,
  type KubenetctlRun,
  kubenetctlRunner,
  type RunOptions,
  userEnv,
} from '../support/kubenetctl.ts';
import { createNetns } from '../support/netns.ts';

const PREFIX = `nntk-${randomBytes(3).toString('hex')}`;
const CLUSTER = `${PREFIX}-pods`;
const NET = `${PREFIX}-net`;
const OTHER_NET = `${PREFIX}-other`;
const SUBNET_A = `${PREFIX}-a`; // 1.2.0.0/16
const SUBNET_B = `${PREFIX}-b`; // 192.168.10.0/24, on OTHER_NET
let env: TestEnv;
let work: string;
let bin: { path: string; remove(): void } | undefined;
let k: Kubenetctl;
let admin: NeutronClient;
let adminProjectId: string;
let storeUrl: string;
let baseEnv: NodeJS.ProcessEnv;

const kubenetctl = (args: string[], options?: RunOptions): KubenetctlRun => k.run(args, options);
const ok = (args: string[], options?: RunOptions): KubenetctlRun => k.ok(args, options);
const fails = failsWith;

/** N-Net's pod ports of a cluster (by its tag), optionally of one pod; not the nodes' own ports. */
async function podPorts(pod?: string, cluster = CLUSTER): Promise<Port[]> {
  const tagged = await admin.ports.list({
    tags: [`nnet-cluster=${cluster}`, ...(pod ? [`nnet-pod=${pod}`] : [])],
  });
  return tagged.filter((p) => p.deviceOwner !== NODE_PORT_OWNER);
}

async function configs(url = storeUrl, cluster = CLUSTER): Promise<PodNetworkConfig[]> {
  const store = await openStore(url);
  try {
    return await store.podConfigs.list({ cluster });
  } finally {
    await store.close();
  }
}

/** What the pod flow leaves behind: the cluster's ports in Neutron and pod configs in the store. */
async function leftovers() {
  return {
    ports: (await podPorts()).map((p) => `${p.name} ${p.fixedIps.map((f) => f.ipAddress).join(',')}`),
    configs: (await configs()).map((c) => `${c.namespace}/${c.pod}`),
  };
}

async function assertNothingLeft(): Promise<void> {
  assert.deepEqual(await leftovers(), { ports: [], configs: [] });
}

async function releaseAll(): Promise<void> {
  for (const p of await podPorts()) await admin.ports.ensureDeleted(p.id);
  const store = await openStore(storeUrl);
  try {
    for (const c of await store.podConfigs.list({ cluster: CLUSTER })) await store.podConfigs.delete(c);
  } finally {
    await store.close();
  }
}

function withStandin(t: { after(fn: () => unknown): void }, extra: NodeJS.ProcessEnv = {}) {
  const standin = createStandin();
  t.after(() => standin.cleanup());
  t.after(releaseAll);
  return { standin, env: { ...standin.env, ...extra } };
}

before(async () => {
  env = ensureEnv();
  work = mkdtempSync(join(tmpdir(), `${PREFIX}-`));
  bin = await bundleKubenetctl(PREFIX);
  const adminSession = createSession(loadCredentials({ file: env.cloudsYaml, cloud: env.cloud, env: {} }), {
    cacheDir: join(work, 'admin-tokens'),
  });
  admin = createNeutronClient(adminSession);
  adminProjectId = (await adminSession.auth()).project!.id;
  storeUrl = `sqlite:${work}/nnet.db`;
  // Never the real kubectl: each test points KUBECTL at its own stand-in.
  baseEnv = { ...userEnv(env, work, storeUrl), KUBECTL: '/nonexistent/kubectl' };
  k = kubenetctlRunner(bin.path, baseEnv, work);
  ok(['create', 'cluster', CLUSTER]);
  ok(['create', 'network', NET]);
  ok(['create', 'subnet', SUBNET_A, '--network', NET, '--cidr', '1.2.0.0/16']);
  ok(['create', 'network', OTHER_NET]);
  ok(['create', 'subnet', SUBNET_B, '--network', OTHER_NET, '--cidr', '192.168.10.0/24']);
});

after(async () => {
  try {
    if (admin) {
      for (const p of await podPorts()) await admin.ports.ensureDeleted(p.id);
      for (const name of [NET, OTHER_NET])
        for (const n of await admin.networks.list({ name })) await admin.networks.ensureDeleted(n.id);
    }
  } finally {
    if (work) rmSync(work, { recursive: true, force: true });
    bin?.remove();
  }
});

// --- run / delete pod --------------------------------------------------------------------------

test('run pod1 --subnet=1.2.0.0/16 --ip=1.2.0.100 -n team-a reserves the port, records the config, hands the stand-in exactly "run pod1 --image=nginx -n team-a"; delete pod releases both', async (t) => {
  const { standin, env: e } = withStandin(t);
  const r = ok(['run', 'pod1', '--image=nginx', '--subnet=1.2.0.0/16', '--ip=1.2.0.100', '-n', 'team-a'], {
    env: e,
  });
  assert.equal(r.stderr, '');
  assert.deepEqual(
    standin.calls().map((c) => c.argv),
    [['run', 'pod1', '--image=nginx', '-n', 'team-a']],
  );

  const [subnet] = await admin.subnets.list({ name: SUBNET_A });
  const ports = await podPorts('pod1');
  assert.equal(ports.length, 1);
  const port = ports[0]!;
  assert.deepEqual(port.fixedIps, [{ subnetId: subnet!.id, ipAddress: '1.2.0.100' }]);
  assert.equal(port.deviceOwner, DEVICE_OWNER);
  assert.equal(port.hostId, '', 'reserved, not bound: the CNI plugin binds it at ADD');
  assert.ok(port.tags.includes(RESERVED_TAG) && port.tags.includes('nnet-ns=team-a'));
  const [config] = await configs();
  assert.deepEqual(
    { ...config, createdAt: undefined, updatedAt: undefined },
    {
      cluster: CLUSTER,
      namespace: 'team-a',
      pod: 'pod1',
      projectId: adminProjectId,
      nics: [
        {
          ifname: 'eth0',
          networkId: subnet!.networkId,
          fixedIps: [{ subnetId: subnet!.id, ip: '1.2.0.100' }],
          reservedPortId: port.id,
        },
      ],
      createdAt: undefined,
      updatedAt: undefined,
    },
  );

  const got = ok(['get', 'podnetwork', 'pod1', '-n', 'team-a', '-o', 'json']).json();
  assert.equal(got.kind, 'PodNetwork');
  assert.deepEqual(got.status, {
    status: 'Reserved',
    portId: port.id,
    ips: ['1.2.0.100'],
    mac: port.macAddress,
    // As Neutron has the port: the project's default group (the pod chose none, nor the cluster).
    securityGroups: port.securityGroups.map((id) => ({ id, name: 'default' })),
  });
  assert.equal((got.spec as { ip: string }).ip, '1.2.0.100');

  const deleted = ok(['delete', 'pod', 'pod1', '-n', 'team-a'], { env: e });
  assert.equal(deleted.stderr, '');
  assert.deepEqual(standin.calls()[1]!.argv, ['delete', 'pod', 'pod1', '-n', 'team-a']);
  await assertNothingLeft();
  // Nothing to release is fine.
  ok(['delete', 'pod', 'pod1', '-n', 'team-a'], { env: e });
});

test('kubectl failing after the reservation: exit code kept, the port and config this call made are undone', async (t) => {
  const { standin, env: e } = withStandin(t, { KUBECTL_STANDIN_EXIT: '1', KUBECTL_STANDIN_STDERR: 'boom\n' });
  const r = kubenetctl(
    ['run', 'pod1', '--image=nginx', '--subnet=1.2.0.0/16', '--ip=1.2.0.100', '-n', 'team-a'],
    {
      env: e,
    },
  );
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'boom\n');
  assert.equal(standin.calls().length, 1);
  await assertNothingLeft();

  // A config that existed before (the network-only form) is not this call's to undo.
  ok(['create', 'podnetwork', 'pod2', '-n', 'team-a', '--subnet', SUBNET_A, '--ip', '1.2.0.102']);
  const again = kubenetctl(
    ['run', 'pod2', '--image=nginx', `--subnet=${SUBNET_A}`, '--ip=1.2.0.102', '-n', 'team-a'],
    { env: e },
  );
  assert.equal(again.status, 1);
  assert.equal((await podPorts('pod2')).length, 1);
  assert.deepEqual(
    (await configs()).map((c) => c.pod),
    ['pod2'],
  );
  ok(['delete', 'podnetwork', 'pod2', '-n', 'team-a']);
  await assertNothingLeft();
});

test('bad pod network requests fail before kubectl runs, with a clear message, exit 1 and nothing left in Neutron or the store', async (t) => {
  const { standin, env: e } = withStandin(t);
  ok(['create', 'podnetwork', 'holder', '-n', 'team-b', '--subnet', '1.2.0.0/16', '--ip', '1.2.0.50']);
  const before = await leftovers();
  const [holder] = await podPorts('holder');
  const run = (flags: string[], extra: NodeJS.ProcessEnv = {}) =>
    kubenetctl(['run', 'pod9', '--image=nginx', '-n', 'team-a', ...flags], { env: { ...e, ...extra } });
  const cases: [string[], RegExp, NodeJS.ProcessEnv?][] = [
    [
      ['--subnet', SUBNET_A, '--ip', '1.3.0.1'],
      /pod team-a\/pod9: IP 1\.3\.0\.1 is not inside subnet nntk-.*-a \(1\.2\.0\.0\/16\)/,
    ],
    [
      ['--subnet', '1.2.0.0/16', '--ip', '1.3.0.1'],
      /invalid argument "1\.3\.0\.1" for "--ip" flag: is not inside 1\.2\.0\.0\/16/,
    ],
    [
      ['--subnet', '1.2.0.0/16', '--ip', '1.2.0.1'],
      /IP 1\.2\.0\.1 is the gateway of subnet nntk-.*-a \(1\.2\.0\.0\/16\)/,
    ],
    [['--subnet', SUBNET_A, '--ip', '1.2.0.0'], /IP 1\.2\.0\.0 is the network address of subnet/],
    [['--subnet', SUBNET_A, '--ip', '1.2.255.255'], /IP 1\.2\.255\.255 is the broadcast address of subnet/],
    [['--subnet', '1.2.0.0/16', '--ip', '1.2.0.300'], /"--ip" flag: not a valid IP address/],
    [['--subnet', '1.2.3.0/16'], /"--subnet" flag: host bits are set/],
    [['--subnet', `${PREFIX}-nope`], /subnet "nntk-.*-nope" not found/],
    [['--network', `${PREFIX}-nope`, '--subnet', SUBNET_A], /network "nntk-.*-nope" not found/],
    [
      ['--network', OTHER_NET, '--subnet', SUBNET_A],
      /subnet nntk-.*-a \(1\.2\.0\.0\/16\) is not on network nntk-.*-other/,
    ],
    [['--ip', '10.99.0.7'], /no subnet of cluster nntk-.*-pods contains IP 10\.99\.0\.7/],
    [
      ['--subnet', '1.2.0.0/16', '--ip', '1.2.0.50'],
      new RegExp(`static IP 1\\.2\\.0\\.50 is taken by pod team-b/holder \\(port ${holder!.id}\\)`),
    ],
    [
      ['--subnet', '1.2.0.0/16', '--ip', '1.2.0.60'],
      /cluster "nope" \(from NNET_CLUSTER\) is not registered/,
      { NNET_CLUSTER: 'nope' },
    ],
    [
      ['--subnet', '1.2.0.0/16', '--ip', '1.2.0.60'],
      /kubenetctl needs your OpenStack credentials/,
      { OS_CLOUD: '', OS_CLIENT_CONFIG_FILE: '' },
    ],
  ];
  for (const [flags, message, extra] of cases) {
    const r = run(flags, extra);
    fails(r, message);
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error: ')).length, 1, r.stderr);
  }
  assert.deepEqual(standin.calls(), [], 'kubectl was never handed anything');
  assert.deepEqual(await leftovers(), before);
});

test('an existing config for the pod: the same request again is accepted without a second port, another one is refused', async (t) => {
  const { standin, env: e } = withStandin(t);
  const args = ['run', 'pod3', '--image=nginx', '--subnet=1.2.0.0/16', '--ip=1.2.0.103', '-n', 'team-a'];
  ok(args, { env: e });
  ok(args, { env: e });
  assert.equal((await podPorts('pod3')).length, 1);
  const r = kubenetctl(
    ['run', 'pod3', '--image=nginx', '--subnet=1.2.0.0/16', '--ip=1.2.0.104', '-n', 'team-a'],
    {
      env: e,
    },
  );
  fails(
    r,
    /pod team-a\/pod3 already has an N-Net network config in cluster .* IP 1\.2\.0\.103\); release it first with 'kubenetctl delete podnetwork pod3 -n team-a'/,
  );
  assert.equal(standin.calls().length, 2);
  assert.deepEqual(
    (await podPorts('pod3')).flatMap((p) => p.fixedIps.map((f) => f.ipAddress)),
    ['1.2.0.103'],
  );
});

test('run --dry-run checks the request against Neutron and reserves nothing', async (t) => {
  const { standin, env: e } = withStandin(t);
  fails(
    kubenetctl(
      [
        'run',
        'pod4',
        '--image=nginx',
        '--dry-run=client',
        `--subnet=${SUBNET_A}`,
        '--ip=1.2.0.1',
        '-n',
        'team-a',
      ],
      {
        env: e,
      },
    ),
    /IP 1\.2\.0\.1 is the gateway of subnet/,
  );
  assert.deepEqual(standin.calls(), []);
  ok(
    [
      'run',
      'pod4',
      '--image=nginx',
      '--dry-run=client',
      `--subnet=${SUBNET_A}`,
      '--ip=1.2.0.104',
      '-n',
      'team-a',
    ],
    {
      env: e,
    },
  );
  assert.deepEqual(standin.calls()[0]!.argv, [
    'run',
    'pod4',
    '--image=nginx',
    '--dry-run=client',
    '-n',
    'team-a',
  ]);
  await assertNothingLeft();
});

test('gc leaves alone what may still be in use: a fresh unrecorded reservation and a recorded one', async (t) => {
  withStandin(t);
  ok(['create', 'podnetwork', 'kept', '-n', 'team-g', '--subnet', SUBNET_A]);
  const [subnet] = await admin.subnets.list({ name: SUBNET_A });
  // What a kubenetctl killed between reserving and recording leaves: a reserved port, no config.
  const orphan = await reservePort(admin, {
    pod: { cluster: CLUSTER, namespace: 'team-g', pod: 'orphan' },
    networkId: subnet!.networkId,
    fixedIps: [{ subnetId: subnet!.id }],
  });
  const r = ok(['gc', '--dry-run']);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'Nothing to collect\n');
  ok(['gc']);
  assert.deepEqual(
    (await podPorts()).map((p) => p.id).sort(),
    [orphan.id, (await podPorts('kept'))[0]!.id].sort(),
  );
});

test("gc collects a reservation whose tag PUT never happened (kubenetctl killed between POST and PUT), by its description; nobody else's untagged port", async (t) => {
  withStandin(t);
  const [subnet] = await admin.subnets.list({ name: SUBNET_A });
  // What a SIGKILL between the reservation's POST and the PUT of its tags leaves: this Neutron
  // takes no tags on create, so the port is untagged; the POST gave it its name, owner and description.
  const killed = await admin.ports.create({
    networkId: subnet!.networkId,
    name: 'nnet-team-h-killed',
    deviceOwner: DEVICE_OWNER,
    description: reservationDescription(CLUSTER),
    fixedIps: [{ subnetId: subnet!.id }],
  });
  t.after(() => admin.ports.ensureDeleted(killed.id));
  // Untagged compute:nnet ports that are not this cluster's reservations: left alone.
  const others = await Promise.all(
    [reservationDescription(`${CLUSTER}-other`), ''].map((description) =>
      admin.ports.create({
        networkId: subnet!.networkId,
        name: 'nnet-team-h-not-ours',
        deviceOwner: DEVICE_OWNER,
        description,
        fixedIps: [{ subnetId: subnet!.id }],
      }),
    ),
  );
  for (const o of others) t.after(() => admin.ports.ensureDeleted(o.id));
  assert.deepEqual(killed.tags, []);

  // Younger than the grace period (60 s by default): it may be a kubenetctl still at work.
  assert.equal(ok(['gc', '--dry-run']).stderr, 'Nothing to collect\n');
  const dry = ok(['gc', '--dry-run', '--min-age', '0']);
  assert.equal(
    dry.stdout,
    `would delete port nnet-team-h-killed (${killed.id}), device_owner compute:nnet: an untagged reservation (its kubenetctl was stopped before tagging it), no pod config refers to it\n`,
  );
  assert.equal((await admin.ports.get(killed.id)).id, killed.id, 'dry run');
  ok(['gc', '--min-age', '0']);
  await assert.rejects(admin.ports.get(killed.id), /HTTP 404/);
  for (const o of others) assert.equal((await admin.ports.get(o.id)).id, o.id, 'not ours: kept');
});

// --- manifests -----------------------------------------------------------------------------------

const manifest = (pods: { name: string; ns?: string; annotations: Record<string, string> }[]) =>
  pods
    .map((p) =>
      [
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        `  name: ${p.name}`,
        ...(p.ns ? [`  namespace: ${p.ns}`] : []),
        '  annotations:',
        ...Object.entries(p.annotations).map(([k, v]) => `    ${k}: "${v}"`),
        'spec:',
        '  containers: [{name: c, image: nginx}]',
      ].join('\n'),
    )
    .join('\n---\n');

test('apply -f with nnet.io annotations reserves every annotated pod before kubectl; delete -f releases them', async (t) => {
  const { standin, env: e } = withStandin(t);
  const file = join(work, 'pods.yaml');
  writeFileSync(
    file,
    manifest([
      { name: 'web-1', annotations: { 'nnet.io/subnet': '1.2.0.0/16', 'nnet.io/ip': '1.2.0.110' } },
      {
        name: 'web-2',
        annotations: {
          'nnet.io/network': OTHER_NET,
          'nnet.io/ip': '192.168.10.20',
          'nnet.io/mac': 'fa:16:3e:12:34:56',
        },
      },
    ]),
  );
  ok(['apply', '-f', file, '-n', 'team-a'], { env: e });
  assert.deepEqual(standin.calls()[0]!.argv, ['apply', '-f', file, '-n', 'team-a']);
  const [web1] = await podPorts('web-1');
  const [web2] = await podPorts('web-2');
  assert.deepEqual(
    web1?.fixedIps.map((f) => f.ipAddress),
    ['1.2.0.110'],
  );
  assert.deepEqual(
    web2?.fixedIps.map((f) => f.ipAddress),
    ['192.168.10.20'],
  );
  assert.equal(web2?.macAddress, 'fa:16:3e:12:34:56');
  assert.deepEqual(
    (await configs()).map((c) => `${c.namespace}/${c.pod}`),
    ['team-a/web-1', 'team-a/web-2'],
  );
  const table = ok(['get', 'podnetworks', '-n', 'team-a']).stdout;
  assert.match(table, /^NAMESPACE +NAME +SUBNET +IP +PORT +NODE +STATUS +AGE\n/);
  assert.match(table, /\nteam-a +web-1 +1\.2\.0\.0\/16 +1\.2\.0\.110 +[0-9a-f-]{36} +<none> +Reserved +/);
  assert.match(table, /\nteam-a +web-2 +192\.168\.10\.0\/24 +192\.168\.10\.20 +/);

  ok(['delete', '-f', file, '-n', 'team-a'], { env: e });
  assert.deepEqual(standin.calls()[1]!.argv, ['delete', '-f', file, '-n', 'team-a']);
  await assertNothingLeft();
});

test('apply -f: kubectl failing undoes every reservation; a taken IP in the second pod undoes the first and never runs kubectl', async (t) => {
  const { standin, env: e } = withStandin(t);
  const file = join(work, 'pods-2.yaml');
  const pods = [
    { name: 'db-1', ns: 'team-c', annotations: { 'nnet.io/subnet': SUBNET_A, 'nnet.io/ip': '1.2.0.120' } },
    { name: 'db-2', ns: 'team-c', annotations: { 'nnet.io/subnet': SUBNET_A, 'nnet.io/ip': '1.2.0.121' } },
  ];
  writeFileSync(file, manifest(pods));
  const failed = kubenetctl(['create', '-f', file], { env: { ...e, KUBECTL_STANDIN_EXIT: '1' } });
  assert.equal(failed.status, 1);
  assert.equal(standin.calls().length, 1);
  await assertNothingLeft();

  ok(['create', 'podnetwork', 'other', '-n', 'team-x', '--subnet', SUBNET_A, '--ip', '1.2.0.121']);
  const taken = kubenetctl(['create', '-f', file], { env: e });
  fails(taken, /static IP 1\.2\.0\.121 is taken by pod team-x\/other/);
  assert.equal(standin.calls().length, 1, 'kubectl not run');
  assert.deepEqual(
    (await configs()).map((c) => c.pod),
    ['other'],
  );
  assert.deepEqual(
    (await podPorts()).map((p) => p.name),
    ['nnet-team-x-other'],
  );
});

// --- podnetworks: the network-only form ------------------------------------------------------------

test('create podnetwork reserves without kubectl; get -o wide joins the CNI side: node and container from ADD, status from Neutron; delete refuses a bound port unless --force', async (t) => {
  const { standin, env: e } = withStandin(t);
  const created = ok(
    [
      'create',
      'podnetwork',
      'pod5',
      '-n',
      'team-a',
      '--subnet',
      '1.2.0.0/16',
      '--ip',
      '1.2.0.105',
      '-o',
      'yaml',
    ],
    { env: e },
  );
  assert.match(created.stdout, /^apiVersion: nnet\.io\/v1\nkind: PodNetwork\n/);
  assert.deepEqual(standin.calls(), []);
  const [port] = await podPorts('pod5');
  assert.ok(port);

  // What ADD does on a node: bind the port and record the attachment.
  const node = `${PREFIX}-node`;
  const containerId = randomBytes(16).toString('hex');
  await admin.ports.update(port.id, { hostId: node, deviceId: containerId });
  const store = await openStore(storeUrl);
  try {
    await store.attachments.create({
      containerId,
      ifname: 'eth0',
      cluster: CLUSTER,
      namespace: 'team-a',
      pod: 'pod5',
      netns: '/var/run/netns/x',
      node,
      portId: port.id,
      portCreatedByAdd: false,
      ips: [{ address: '1.2.0.105', prefixLength: 16, gateway: '1.2.0.1' }],
      routes: [{ dst: '0.0.0.0/0', gateway: '1.2.0.1' }],
      mac: port.macAddress,
      mtu: 1442,
      plugDriver: 'internal',
      ovsPort: 'tap0',
    });
  } finally {
    await store.close();
  }
  const wide = ok(['get', 'podnetworks', '-n', 'team-a', '-o', 'wide']).stdout;
  assert.match(
    wide,
    /^NAMESPACE +NAME +SUBNET +IP +PORT +NODE +STATUS +AGE +MAC +NETWORK +CONTAINER +SECURITY-GROUPS\n/,
  );
  const bound = (await admin.ports.get(port.id)).status;
  assert.match(
    wide,
    new RegExp(
      `\\nteam-a +pod5 +1\\.2\\.0\\.0/16 +1\\.2\\.0\\.105 +${port.id} +${node} +${bound} +\\S+ +${port.macAddress} +${NET} +${containerId} +\\S+\\n`,
    ),
  );
  const described = ok(['describe', 'podnetwork', 'pod5', '-n', 'team-a']).stdout;
  assert.match(described, new RegExp(`\\n {2}Node: +${node}\\n`));

  fails(
    kubenetctl(['delete', 'podnetwork', 'pod5', '-n', 'team-a']),
    new RegExp(`pod team-a/pod5 is running: its port ${port.id} is bound to node ${node}; .*or give --force`),
  );
  assert.equal((await podPorts('pod5')).length, 1);
  assert.equal(
    ok(['delete', 'podnetwork', 'pod5', '-n', 'team-a', '--force']).stdout,
    'podnetwork "pod5" deleted\n',
  );
  await assertNothingLeft();
  const store2 = await openStore(storeUrl);
  try {
    await store2.attachments.delete({ containerId, ifname: 'eth0' });
  } finally {
    await store2.close();
  }
});

// --- signals ---------------------------------------------------------------------------------------

async function spawnKubenetctl(args: string[], extra: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [bin!.path, ...args], {
    env: { ...baseEnv, ...extra },
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd: work,
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stderr: () => stderr };
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(20);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('SIGTERM while kubectl runs: kubectl gets it, the reservation is undone, kubenetctl dies of SIGTERM', async (t) => {
  const { standin, env: e } = withStandin(t, {
    KUBECTL_STANDIN_SLEEP: '30',
    KUBECTL_STANDIN_STDIN: 'ignore',
  });
  const run = await spawnKubenetctl(
    ['run', 'pod6', '--image=nginx', '--subnet=1.2.0.0/16', '--ip=1.2.0.106', '-n', 'team-a'],
    e,
  );
  t.after(() => run.child.kill('SIGKILL'));
  await waitFor('the stand-in to start', () => standin.calls()[0]?.ready === true);
  assert.equal((await podPorts('pod6')).length, 1, 'reserved before kubectl');
  run.child.kill('SIGTERM');
  assert.deepEqual(await run.exited, { code: null, signal: 'SIGTERM' });
  assert.deepEqual(standin.calls()[0]!.signals, ['TERM']);
  await assertNothingLeft();
});

test('SIGTERM while N-Net reserves: the reservation is finished and undone, kubenetctl dies of SIGTERM, nothing left', async (t) => {
  const { standin, env: e } = withStandin(t, {
    KUBECTL_STANDIN_SLEEP: '30',
    KUBECTL_STANDIN_STDIN: 'ignore',
  });
  const run = await spawnKubenetctl(
    ['run', 'pod7', '--image=nginx', '--subnet=1.2.0.0/16', '--ip=1.2.0.107', '-n', 'team-a'],
    e,
  );
  t.after(() => run.child.kill('SIGKILL'));
  // The port exists (tagged) before the config is recorded and long before kubectl.
  await waitFor('the reserved port', async () => (await podPorts('pod7')).length > 0);
  run.child.kill('SIGTERM');
  assert.deepEqual(await run.exited, { code: null, signal: 'SIGTERM' }, run.stderr());
  // Whether the signal came before or after kubectl started, kubectl did not outlive it. A stand-in
  // killed before it installed its trap records nothing: only a ready one must have seen TERM.
  for (const call of standin.calls()) if (call.ready) assert.deepEqual(call.signals, ['TERM']);
  await assertNothingLeft();
});

// --- a real ADD through libcni -------------------------------------------------------------------

describe('with the CNI plugin on an OVS node (libcni harness)', () => {
  test('get podnetworks -o wide shows the node and container of a real ADD, and ACTIVE once OVN binds the port', async (t) => {
    const c = await startTestCluster({ prefix: 'nntk', backend: 'sqlite' });
    t.after(() => c.stop());
    const pod = createNetns('nntk');
    t.after(() => pod.remove());
    // The cluster's own project member reserves (as its users would): the plugin, a member too, binds it.
    const cniEnv = { NNET_STORE: c.storeUrl, NNET_CLUSTER: c.name, OS_CLOUD: c.env.memberCloud };
    const kctl = (args: string[]) => {
      const r = kubenetctl(args, { env: cniEnv });
      assert.equal(r.status, 0, `kubenetctl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    kctl(['create', 'podnetwork', 'pod1', '-n', 'team-a', '--subnet', '1.2.0.0/16', '--ip', '1.2.0.100']);
    const containerId = randomBytes(16).toString('hex');
    const call = {
      id: containerId,
      netns: pod.path,
      args: { K8S_POD_NAMESPACE: 'team-a', K8S_POD_NAME: 'pod1', K8S_POD_INFRA_CONTAINER_ID: containerId },
    };
    const add = c.rt.call('add', call);
    assert.equal(add.code, 0, `ADD: ${add.stdout} ${add.stderr}`);
    t.after(() => c.rt.call('del', call));
    const row = () =>
      kctl(['get', 'podnetworks', '-n', 'team-a', '-o', 'wide'])
        .split('\n')
        .find((l) => l.startsWith('team-a '));
    await waitFor('the port to go ACTIVE', () => / ACTIVE /.test(row() ?? ''), 60_000);
    assert.match(
      row()!,
      new RegExp(
        `^team-a +pod1 +1\\.2\\.0\\.0/16 +1\\.2\\.0\\.100 +[0-9a-f-]{36} +${c.name} +ACTIVE +\\S+ +\\S+ +\\S+ +${containerId} +\\S*nnet-${c.name}-node-access\\S*$`,
      ),
    );
    const status = (
      await kubenetctl(['get', 'podnetwork', 'pod1', '-n', 'team-a', '-o', 'json'], { env: cniEnv }).json()
    ).status as Record<string, unknown>;
    assert.equal(status.node, c.name);
    assert.equal(status.containerId, containerId);

    // DEL unbinds and keeps the reservation; then it can be released.
    assert.equal(c.rt.call('del', call).code, 0);
    await waitFor('the port to be unbound', () => / Reserved /.test(row() ?? ''));
    kctl(['delete', 'podnetwork', 'pod1', '-n', 'team-a']);
    assert.deepEqual(await podPorts(undefined, c.name), []);
    assert.deepEqual(await configs(c.storeUrl, c.name), []);
  });
});
