/**
 * Dual-stack pods through kubenetctl, against the env's real Keystone and Neutron: a network with
 * an IPv4 and an IPv6 subnet (`create subnet --ip-version 6 --ipv6-address-mode …`), pods with a
 * static IP of each family (`--ip` twice, `nnet.io/ip: "A,B"`), what `get`/`describe podnetwork`
 * show, and the requests the resolver (src/resources/target.ts) refuses, each naming the value and
 * leaving no port and no store row. Neutron is checked with the admin client, not with kubenetctl.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { NeutronClient, Subnet } from '../../src/neutron/index.ts';
import { openStore, type PodNetworkConfig } from '../../src/store/index.ts';
import { adminNeutron } from '../support/cluster.ts';
import { ensureEnv, type TestEnv } from '../support/env.ts';
import { createStandin } from '../support/kubectl-standin/index.ts';
import {
  bundleKubenetctl,
  clusterLeftovers,
  failsWith,
  type Kubenetctl,
  kubenetctlRunner,
  sweepCluster,
  userEnv,
} from '../support/kubenetctl.ts';

const PREFIX = `nntd-${randomBytes(3).toString('hex')}`;
const CLUSTER = `${PREFIX}-ds`;
const NET = `${PREFIX}-net`; // 1.2.0.0/16 and fd00:1::/64
const V4 = `${PREFIX}-a`;
const V6 = `${PREFIX}-v6`;
const V4_ONLY_NET = `${PREFIX}-v4only`; // 192.168.10.0/24 only
let env: TestEnv;
let work: string;
let bin: { path: string; remove(): void } | undefined;
let k: Kubenetctl;
let admin: NeutronClient;
let storeUrl: string;
let baseEnv: NodeJS.ProcessEnv;
let v4: Subnet;
let v6: Subnet;

before(async () => {
  env = ensureEnv();
  work = mkdtempSync(join(tmpdir(), `${PREFIX}-`));
  bin = await bundleKubenetctl(PREFIX);
  admin = adminNeutron(env, join(work, 'admin-tokens'));
  storeUrl = `sqlite:${work}/nnet.db`;
  // Never the real kubectl; the test that runs kubectl points KUBECTL at a stand-in.
  baseEnv = { ...userEnv(env, work, storeUrl), KUBECTL: '/nonexistent/kubectl' };
  k = kubenetctlRunner(bin.path, baseEnv, work);
  k.ok(['create', 'cluster', CLUSTER]);
  k.ok(['create', 'network', NET]);
  k.ok(['create', 'subnet', V4, '--network', NET, '--cidr', '1.2.0.0/16']);
  k.ok([
    'create',
    'subnet',
    V6,
    '--network',
    NET,
    '--cidr',
    'fd00:1::/64',
    '--ip-version',
    '6',
    '--ipv6-address-mode',
    'dhcpv6-stateful',
    // Neutron's default IPv6 gateway is the subnet-router anycast address (fd00:1::).
    '--gateway',
    'fd00:1::1',
  ]);
  k.ok(['create', 'network', V4_ONLY_NET]);
  k.ok(['create', 'subnet', `${PREFIX}-b`, '--network', V4_ONLY_NET, '--cidr', '192.168.10.0/24']);
  v4 = (await admin.subnets.list({ name: V4 }))[0]!;
  v6 = (await admin.subnets.list({ name: V6 }))[0]!;
});

after(async () => {
  try {
    if (admin) await sweepCluster(admin, CLUSTER);
  } finally {
    if (work) rmSync(work, { recursive: true, force: true });
    bin?.remove();
  }
});

async function podConfigs(): Promise<PodNetworkConfig[]> {
  const store = await openStore(storeUrl);
  try {
    return await store.podConfigs.list({ cluster: CLUSTER });
  } finally {
    await store.close();
  }
}

const podPorts = (pod: string) => admin.ports.list({ tags: [`nnet-cluster=${CLUSTER}`, `nnet-pod=${pod}`] });

/** Releases what a test reserved, also when it failed. */
function releasing(t: { after(fn: () => unknown): void }, ...pods: string[]): void {
  t.after(() => {
    for (const pod of pods) k.run(['delete', 'podnetwork', pod, '-n', 'team-d', '--force']);
  });
}

test('create subnet --ip-version 6 --ipv6-address-mode dhcpv6-stateful makes an IPv6 subnet with both Neutron modes set', () => {
  assert.equal(v6.ipVersion, 6);
  assert.equal(v6.cidr, 'fd00:1::/64');
  assert.equal(v6.ipv6AddressMode, 'dhcpv6-stateful');
  assert.equal(v6.ipv6RaMode, 'dhcpv6-stateful');
  assert.equal(v6.gatewayIp, 'fd00:1::1');
  assert.equal(v4.ipv6AddressMode, undefined);
  const wide = k.ok(['get', 'subnets', V6, '-o', 'yaml']).stdout;
  assert.match(wide, /cidr: fd00:1::\/64/);
});

test('create podnetwork --ip twice reserves one Neutron port holding both static IPs; get and describe show both', async (t) => {
  releasing(t, 'pod1');
  k.ok([
    'create',
    'podnetwork',
    'pod1',
    '-n',
    'team-d',
    '--network',
    NET,
    '--ip',
    'fd00:1::100',
    '--ip',
    '1.2.0.100',
  ]);
  const ports = await podPorts('pod1');
  assert.equal(ports.length, 1);
  const port = ports[0]!;
  assert.deepEqual(
    [...port.fixedIps].sort((a, b) => a.ipAddress.localeCompare(b.ipAddress)),
    [
      { subnetId: v4.id, ipAddress: '1.2.0.100' },
      { subnetId: v6.id, ipAddress: 'fd00:1::100' },
    ],
  );
  const [config] = await podConfigs();
  assert.deepEqual(config!.nics, [
    {
      ifname: 'eth0',
      networkId: v4.networkId,
      fixedIps: [
        { subnetId: v4.id, ip: '1.2.0.100' },
        { subnetId: v6.id, ip: 'fd00:1::100' },
      ],
      reservedPortId: port.id,
    },
  ]);

  const table = k.ok(['get', 'podnetworks', '-n', 'team-d']).stdout;
  assert.match(table, /^NAMESPACE +NAME +SUBNET +IP +PORT +NODE +STATUS +AGE\n/);
  assert.match(
    table,
    new RegExp(
      `\\nteam-d +pod1 +1\\.2\\.0\\.0/16,fd00:1::/64 +1\\.2\\.0\\.100,fd00:1::100 +${port.id} +<none> +Reserved `,
    ),
  );
  assert.match(
    k.ok(['get', 'podnetworks', '-n', 'team-d', '-o', 'wide']).stdout,
    / 1\.2\.0\.100,fd00:1::100 /,
  );
  const object = k.ok(['get', 'podnetwork', 'pod1', '-n', 'team-d', '-o', 'json']).json() as {
    spec: { ips: string[]; subnets: { id: string }[] };
    status: { ips: string[] };
  };
  assert.deepEqual(object.spec.ips, ['1.2.0.100', 'fd00:1::100']);
  assert.deepEqual(
    object.spec.subnets.map((s) => s.id),
    [v4.id, v6.id],
  );
  assert.deepEqual(object.status.ips, ['1.2.0.100', 'fd00:1::100']);
  const described = k.ok(['describe', 'podnetwork', 'pod1', '-n', 'team-d']).stdout;
  assert.match(
    described,
    new RegExp(`\\n {2}Subnets: +${V4} \\(1\\.2\\.0\\.0/16\\)\\n +${V6} \\(fd00:1::/64\\)\\n`),
  );
  assert.match(described, /\n {2}IPs: +1\.2\.0\.100\n +fd00:1::100\n {2}MAC:/);

  // The same request again changes nothing; another one is refused, naming what the pod has.
  assert.equal(
    k.ok([
      'create',
      'podnetwork',
      'pod1',
      '-n',
      'team-d',
      '--network',
      NET,
      '--ip',
      '1.2.0.100',
      '--ip',
      'fd00:1::100',
    ]).stdout,
    'podnetwork/pod1 unchanged\n',
  );
  failsWith(
    k.run(['create', 'podnetwork', 'pod1', '-n', 'team-d', '--network', NET, '--ip', '1.2.0.100']),
    /pod team-d\/pod1 already has an N-Net network config .*IP 1\.2\.0\.100 and fd00:1::100\)/,
  );
  assert.equal((await podPorts('pod1')).length, 1);

  k.ok(['delete', 'podnetwork', 'pod1', '-n', 'team-d']);
  assert.deepEqual(await podPorts('pod1'), []);
  assert.deepEqual(await podConfigs(), []);
});

test('a pod on a dual-stack network without static IPs gets an address of each family', async (t) => {
  releasing(t, 'pod2');
  k.ok(['create', 'podnetwork', 'pod2', '-n', 'team-d', '--subnet', '1.2.0.0/16']);
  const [port] = await podPorts('pod2');
  assert.deepEqual(port!.fixedIps.map((f) => f.subnetId).sort(), [v4.id, v6.id].sort());
  const row = k.ok(['get', 'podnetworks', 'pod2', '-n', 'team-d']).stdout.split('\n')[1]!;
  assert.match(row, /^team-d +pod2 +1\.2\.0\.0\/16,fd00:1::\/64 +1\.2\.\d+\.\d+,fd00:1::\S+ /);
});

test('run --ip A --ip B and a manifest with nnet.io/ip: "A, B" reserve both addresses before kubectl runs', async (t) => {
  const standin = createStandin();
  t.after(() => standin.cleanup());
  releasing(t, 'pod3', 'pod4');
  const e = standin.env;
  k.ok(['run', 'pod3', '--image=nginx', '--ip=1.2.0.103', '--ip', 'fd00:1::103', '-n', 'team-d'], { env: e });
  assert.deepEqual(standin.calls()[0]!.argv, ['run', 'pod3', '--image=nginx', '-n', 'team-d']);
  const file = join(work, 'pod4.yaml');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      '  name: pod4',
      '  namespace: team-d',
      '  annotations:',
      `    nnet.io/network: ${NET}`,
      '    nnet.io/ip: "fd00:1::104, 1.2.0.104"',
      'spec:',
      '  containers: [{name: c, image: nginx}]',
    ].join('\n'),
  );
  k.ok(['apply', '-f', file], { env: e });
  assert.deepEqual(standin.calls()[1]!.argv, ['apply', '-f', file]);
  for (const [pod, host] of [
    ['pod3', '103'],
    ['pod4', '104'],
  ] as const) {
    const [port] = await podPorts(pod);
    assert.deepEqual(port!.fixedIps.map((f) => f.ipAddress).sort(), [`1.2.0.${host}`, `fd00:1::${host}`]);
  }
  k.ok(['delete', '-f', file], { env: e });
  k.ok(['delete', 'pod', 'pod3', '-n', 'team-d'], { env: e });
  assert.deepEqual(await podConfigs(), []);
});

test('bad dual-stack requests exit 1 with a message naming the value, and leave no port and no store row', async () => {
  const before = await clusterLeftovers(admin, storeUrl, CLUSTER);
  const create = (...flags: string[]) => k.run(['create', 'podnetwork', 'pod9', '-n', 'team-d', ...flags]);
  const cases: [string[], RegExp][] = [
    [
      ['--network', NET, '--ip', '1.2.0.109', '--ip', 'fd00:2::9'],
      new RegExp(`pod team-d/pod9: no subnet of network ${NET} contains IP fd00:2::9`),
    ],
    [
      ['--subnet', 'fd00:1::/64', '--ip', 'fd00:2::9'],
      /invalid argument "fd00:2::9" for "--ip" flag: is not inside fd00:1::\/64/,
    ],
    [
      ['--network', NET, '--ip', 'fd00:1::1'],
      new RegExp(`IP fd00:1::1 is the gateway of subnet ${V6} \\(fd00:1::/64\\)`),
    ],
    [
      ['--network', NET, '--ip', '1.2.0.1', '--ip', 'fd00:1::109'],
      new RegExp(`IP 1\\.2\\.0\\.1 is the gateway of subnet ${V4} \\(1\\.2\\.0\\.0/16\\)`),
    ],
    [
      ['--network', NET, '--ip', 'fd00:1::'],
      new RegExp(`IP fd00:1:: is the subnet-router anycast address of subnet ${V6} \\(fd00:1::/64\\)`),
    ],
    [
      ['--subnet', 'fd00:1::/64', '--ip', 'fd00:1::'],
      /invalid argument "fd00:1::" for "--ip" flag: is the subnet-router anycast address of fd00:1::\/64/,
    ],
    [
      ['--network', NET, '--ip', 'fd00:1::109', '--ip', 'fd00:1::110'],
      /invalid argument "fd00:1::110" for "--ip" flag: two IPv6 addresses \(fd00:1::109 and fd00:1::110\) for one NIC/,
    ],
    [
      ['--network', V4_ONLY_NET, '--ip', 'fd00:1::109'],
      new RegExp(
        `no subnet of network ${V4_ONLY_NET} contains IP fd00:1::109 \\(it has only IPv4 subnets\\)`,
      ),
    ],
    [
      ['--network', NET, '--ip', '1.2.0.109', '--ip', 'fd00:1::1::9'],
      /invalid argument "fd00:1::1::9" for "--ip" flag: not a valid IPv6 address/,
    ],
  ];
  for (const [flags, message] of cases) {
    const r = create(...flags);
    failsWith(r, message, flags.join(' '));
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error: ')).length, 1, r.stderr);
  }
  failsWith(
    k.run([
      'create',
      'subnet',
      `${PREFIX}-x`,
      '--network',
      NET,
      '--cidr',
      '10.9.0.0/24',
      '--ipv6-address-mode',
      'slaac',
    ]),
    /invalid argument "slaac" for "--ipv6-address-mode" flag: 10\.9\.0\.0\/24 is an IPv4 range/,
  );
  assert.deepEqual(await clusterLeftovers(admin, storeUrl, CLUSTER), before);
});
