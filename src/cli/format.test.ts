import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import {
  formatActionResult,
  formatAge,
  formatDescribe,
  formatJson,
  formatTable,
  noResourcesMessage,
  printResources,
} from './format.ts';
import {
  describePodNetwork,
  type NetworkView,
  networkPrinter,
  type PodNetworkView,
  podNetworkPrinter,
} from './printers.ts';

test('tables pad columns as kubectl does (this is `kubectl config get-contexts` output)', () => {
  const kubectlOutput =
    'CURRENT   NAME   CLUSTER   AUTHINFO   NAMESPACE\n' + '*         ctx1   c1        u1         team-a\n';
  assert.equal(
    formatTable(
      ['CURRENT', 'NAME', 'CLUSTER', 'AUTHINFO', 'NAMESPACE'],
      [['*', 'ctx1', 'c1', 'u1', 'team-a']],
    ),
    kubectlOutput,
  );
});

test('table columns are at least 6 wide and the last column is not padded', () => {
  assert.equal(formatTable(['IP', 'X'], [['a', 'b']]), 'IP    X\na     b\n');
  assert.equal(
    formatTable(
      ['NAME', 'SUBNETS', 'STATUS', 'AGE'],
      [
        ['pods', 'pods-a,pods-b', 'ACTIVE', '5m'],
        ['x', '<none>', 'DOWN', '10d'],
      ],
    ),
    'NAME   SUBNETS         STATUS   AGE\n' +
      'pods   pods-a,pods-b   ACTIVE   5m\n' +
      'x      <none>          DOWN     10d\n',
  );
});

test('AGE reads like kubectl (HumanDuration)', () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  const cases: [number, string][] = [
    [-5 * s, '<invalid>'],
    [-1500, '0s'],
    [0, '0s'],
    [45 * s, '45s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [200 * s, '3m20s'],
    [10 * m, '10m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [3 * h + 30 * m, '3h30m'],
    [8 * h, '8h'],
    [47 * h, '47h'],
    [48 * h, '2d'],
    [50 * h, '2d2h'],
    [8 * d, '8d'],
    [400 * d, '400d'],
    [730 * d, '2y'],
    [800 * d, '2y70d'],
    [3000 * d, '8y'],
  ];
  for (const [ms, text] of cases) assert.equal(formatAge(ms), text, `${ms} ms`);
});

const NOW = new Date('2025-01-01T00:05:00Z');
const PODS: NetworkView = {
  name: 'pods',
  id: 'id-1',
  status: 'ACTIVE',
  mtu: 1442,
  subnets: [{ id: 'sid-1', name: 'pods-a', cidr: '1.2.0.0/16' }],
  cluster: 'prod',
  createdAt: '2025-01-01T00:00:00Z',
};

test('get networks prints a table; -o wide adds MTU, ID and CLUSTER; empty cells read <none>', () => {
  assert.equal(
    printResources(networkPrinter, [PODS], { format: 'table', now: NOW }),
    'NAME   SUBNETS      STATUS   AGE\npods   1.2.0.0/16   ACTIVE   5m\n',
  );
  assert.equal(
    printResources(networkPrinter, [PODS], { format: 'wide', now: NOW }),
    'NAME   SUBNETS      STATUS   AGE   MTU    ID     CLUSTER\npods   1.2.0.0/16   ACTIVE   5m    1442   id-1   prod\n',
  );
  const bare: NetworkView = { name: 'n', id: 'i', status: '', subnets: [] };
  assert.equal(
    printResources(networkPrinter, [bare], { format: 'table', now: NOW }),
    'NAME   SUBNETS   STATUS   AGE\nn      <none>    <none>   <unknown>\n',
  );
  assert.equal(printResources(networkPrinter, [], { format: 'table', now: NOW }), '');
});

test('-o name prints TYPE/NAME lines', () => {
  assert.equal(
    printResources(networkPrinter, [PODS, { ...PODS, name: 'b' }], { format: 'name', now: NOW }),
    'network/pods\nnetwork/b\n',
  );
});

const PODS_OBJECT = {
  apiVersion: 'nnet.io/v1',
  kind: 'Network',
  metadata: { name: 'pods', uid: 'id-1', creationTimestamp: '2025-01-01T00:00:00Z' },
  spec: { mtu: 1442, cluster: 'prod' },
  status: { status: 'ACTIVE', subnets: [{ id: 'sid-1', name: 'pods-a', cidr: '1.2.0.0/16' }] },
};

test('-o json prints the object for one name and a List otherwise, indented by four', () => {
  const single = printResources(networkPrinter, [PODS], { format: 'json', now: NOW, single: true });
  assert.deepEqual(JSON.parse(single), PODS_OBJECT);
  assert.ok(single.startsWith('{\n    "apiVersion": "nnet.io/v1",\n    "kind": "Network",'));
  assert.ok(single.endsWith('}\n'));
  const list = printResources(networkPrinter, [PODS], { format: 'json', now: NOW });
  assert.deepEqual(JSON.parse(list), {
    apiVersion: 'v1',
    items: [PODS_OBJECT],
    kind: 'List',
    metadata: { resourceVersion: '' },
  });
});

test('-o yaml sorts keys and does not indent sequences, like kubectl', () => {
  const out = printResources(networkPrinter, [PODS], { format: 'yaml', now: NOW });
  assert.deepEqual(parseYaml(out), {
    apiVersion: 'v1',
    items: [PODS_OBJECT],
    kind: 'List',
    metadata: { resourceVersion: '' },
  });
  assert.ok(
    out.startsWith('apiVersion: v1\nitems:\n- apiVersion: nnet.io/v1\n  kind: Network\n  metadata:\n'),
    out,
  );
  assert.match(out, /\n {2}status:\n {4}status: ACTIVE\n {4}subnets:\n {4}- cidr: 1\.2\.0\.0\/16\n/);
});

test('get podnetworks shows the wanted subnet next to the port, its IP, node and status; -o wide adds MAC, NETWORK, CONTAINER, SECURITY-GROUPS', () => {
  const p: PodNetworkView = {
    namespace: 'team-a',
    pod: 'pod1',
    cluster: 'prod',
    network: { id: 'nid', name: 'pods' },
    subnets: [{ id: 'sid', name: 'pods-a', cidr: '1.2.0.0/16' }],
    wantedIps: ['1.2.0.100'],
    portId: 'pid',
    ips: ['1.2.0.100'],
    mac: 'fa:16:3e:00:00:01',
    node: 'node1',
    container: 'c0ffee',
    status: 'ACTIVE',
    wantedSecurityGroups: [{ id: 'g1', name: 'web' }],
    extraNics: [{ ifname: 'net1', network: 'storage', ips: ['10.77.0.50'] }],
    securityGroups: [
      { id: 'g1', name: 'web' },
      { id: 'g2', name: 'nnet-prod-node-access' },
    ],
  };
  assert.equal(
    printResources(podNetworkPrinter, [p], { format: 'table', now: NOW }),
    'NAMESPACE   NAME   SUBNET       IP          PORT   NODE    STATUS   AGE\n' +
      'team-a      pod1   1.2.0.0/16   1.2.0.100   pid    node1   ACTIVE   <unknown>\n',
  );
  assert.match(
    printResources(podNetworkPrinter, [p], { format: 'wide', now: NOW }),
    /AGE +MAC +NETWORK +CONTAINER +SECURITY-GROUPS\n.* fa:16:3e:00:00:01 +pods +c0ffee +web,nnet-prod-node-access\n$/,
  );
  assert.match(formatDescribe(describePodNetwork(p)), /\n {2}net1: +storage 10\.77\.0\.50\n/);
  const reserved: PodNetworkView = {
    ...p,
    ips: [],
    portId: undefined,
    node: undefined,
    status: 'PortMissing',
    wantedSecurityGroups: [],
    extraNics: [],
    securityGroups: [],
  };
  assert.match(
    printResources(podNetworkPrinter, [reserved], { format: 'table', now: NOW }),
    /\nteam-a +pod1 +1\.2\.0\.0\/16 +1\.2\.0\.100 +<none> +<none> +PortMissing /,
  );
});

test('a dual-stack podnetwork shows both subnets and both IPs (IPv4 first) in the table, -o json and describe', () => {
  const p: PodNetworkView = {
    namespace: 'team-a',
    pod: 'pod1',
    cluster: 'prod',
    network: { id: 'nid', name: 'pods' },
    subnets: [
      { id: 's4', name: 'pods-a', cidr: '1.2.0.0/16' },
      { id: 's6', name: 'pods-v6', cidr: 'fd00:1::/64' },
    ],
    wantedIps: ['1.2.0.100', 'fd00:1::100'],
    portId: 'pid',
    ips: ['1.2.0.100', 'fd00:1::100'],
    status: 'Reserved',
    wantedSecurityGroups: [],
    extraNics: [],
    securityGroups: [],
  };
  assert.equal(
    printResources(podNetworkPrinter, [p], { format: 'table', now: NOW }),
    'NAMESPACE   NAME   SUBNET                   IP                      PORT   NODE     STATUS     AGE\n' +
      'team-a      pod1   1.2.0.0/16,fd00:1::/64   1.2.0.100,fd00:1::100   pid    <none>   Reserved   <unknown>\n',
  );
  const object = JSON.parse(
    printResources(podNetworkPrinter, [p], { format: 'json', now: NOW, single: true }),
  );
  assert.deepEqual(object.spec.ips, ['1.2.0.100', 'fd00:1::100']);
  assert.deepEqual(
    object.spec.subnets.map((s: { cidr: string }) => s.cidr),
    ['1.2.0.0/16', 'fd00:1::/64'],
  );
  assert.equal(object.spec.ip, '1.2.0.100', 'the first, as Kubernetes keeps podIP beside podIPs');
  assert.deepEqual(object.status.ips, ['1.2.0.100', 'fd00:1::100']);
  const described = formatDescribe(describePodNetwork(p));
  assert.match(described, /\n {2}Subnets: +pods-a \(1\.2\.0\.0\/16\)\n +pods-v6 \(fd00:1::\/64\)\n/);
  assert.match(described, /\n {2}IPs: +1\.2\.0\.100\n +fd00:1::100\n {2}MAC:/);
});

test('a podnetwork of any address of the default network (nothing asked) prints empty cells as <none>', () => {
  const p: PodNetworkView = {
    namespace: 'team-a',
    pod: 'pod2',
    cluster: 'prod',
    subnets: [],
    wantedIps: [],
    ips: [],
    status: 'NotReserved',
    wantedSecurityGroups: [],
    extraNics: [],
    securityGroups: [],
  };
  assert.match(
    printResources(podNetworkPrinter, [p], { format: 'table', now: NOW }),
    /\nteam-a +pod2 +<none> +<none> +<none> +<none> +NotReserved +<unknown>\n$/,
  );
});

test('describe blocks align values, list values continue under the first, nested blocks indent', () => {
  assert.equal(
    formatDescribe([
      ['Name', 'pod1'],
      ['Namespace', 'team-a'],
      ['IP', ''],
      ['Subnets', ['a', 'b']],
      ['DNS', []],
      [
        'Port',
        [
          ['ID', 'x'],
          ['Status', 'up'],
        ],
      ],
    ]),
    'Name:       pod1\n' +
      'Namespace:  team-a\n' +
      'IP:         <none>\n' +
      'Subnets:    a\n' +
      '            b\n' +
      'DNS:        <none>\n' +
      'Port:\n' +
      '  ID:      x\n' +
      '  Status:  up\n',
  );
});

test('messages read like kubectl’s', () => {
  assert.equal(formatActionResult('subnet', 'pods-a', 'created'), 'subnet/pods-a created\n');
  assert.equal(noResourcesMessage(), 'No resources found\n');
  assert.equal(noResourcesMessage('team-a'), 'No resources found in team-a namespace.\n');
  assert.equal(formatJson({ a: [1] }), '{\n    "a": [\n        1\n    ]\n}\n');
});
