import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../errors/index.ts';
import { podNetworksFromManifests } from './manifest.ts';

const POD1 = `apiVersion: v1
kind: Pod
metadata:
  name: pod1
  namespace: team-a
  annotations:
    nnet.io/subnet: 1.2.0.0/16
    nnet.io/ip: 1.2.0.100
spec:
  containers:
  - name: c
    image: nginx
`;

function rejects(texts: { source: string; text: string }[], message: RegExp, options = {}): void {
  assert.throws(
    () => podNetworksFromManifests(texts, options),
    (err: unknown) => {
      assert.ok(err instanceof InputError, String(err));
      assert.equal(err.reason, 'invalid-config');
      assert.match(err.message, message);
      return true;
    },
  );
}

test('a Pod with N-Net annotations yields its request; namespace from its metadata', () => {
  assert.deepEqual(podNetworksFromManifests([{ source: 'pod.yaml', text: POD1 }]), {
    requests: [{ namespace: 'team-a', pod: 'pod1', subnet: '1.2.0.0/16', ips: ['1.2.0.100'] }],
    pods: [{ namespace: 'team-a', pod: 'pod1' }],
    usesDefaultNamespace: false,
  });
});

test('a Pod naming no namespace takes -n, else the default namespace, else "default"', () => {
  const text = POD1.replace('  namespace: team-a\n', '');
  const run = (options: object) =>
    podNetworksFromManifests([{ source: 'p.yaml', text }], options).requests[0]?.namespace;
  assert.equal(run({ namespace: 'ns-flag' }), 'ns-flag');
  assert.equal(run({ defaultNamespace: 'from-context' }), 'from-context');
  assert.equal(run({}), 'default');
});

test('multi-document YAML: only annotated Pods are requests, every named Pod is listed', () => {
  const text = `apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
${POD1}---
apiVersion: v1
kind: Pod
metadata: {name: plain}
---
# an empty document
`;
  assert.deepEqual(podNetworksFromManifests([{ source: 'all.yaml', text }], { defaultNamespace: 'd' }), {
    requests: [{ namespace: 'team-a', pod: 'pod1', subnet: '1.2.0.0/16', ips: ['1.2.0.100'] }],
    pods: [
      { namespace: 'team-a', pod: 'pod1' },
      { namespace: 'd', pod: 'plain' },
    ],
    usesDefaultNamespace: true,
  });
});

test('a List (JSON) is read item by item', () => {
  const text = JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', annotations: { 'nnet.io/network': 'pods' } } },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'b', annotations: { 'nnet.io/ip': '10.0.0.7', other: 'x' } },
      },
    ],
  });
  assert.deepEqual(podNetworksFromManifests([{ source: 'STDIN', text }]).requests, [
    { namespace: 'default', pod: 'a', network: 'pods', ips: [] },
    { namespace: 'default', pod: 'b', ips: ['10.0.0.7'] },
  ]);
});

test('a document that does not parse is skipped (kubectl reports it), the others are read', () => {
  const text = `${POD1}---\nkind: Pod\nmetadata: {name: [unclosed\n`;
  assert.equal(podNetworksFromManifests([{ source: 'x.yaml', text }]).requests.length, 1);
});

test('an IP outside the annotated subnet is refused with the annotation, pod and file', () => {
  rejects(
    [{ source: 'pod.yaml', text: POD1.replace('1.2.0.100', '1.3.0.1') }],
    /^invalid annotation nnet\.io\/ip="1\.3\.0\.1" on pod team-a\/pod1 in pod\.yaml: is not inside 1\.2\.0\.0\/16$/,
  );
});

test('nnet.io/ip with two IPs (a comma list, spaces allowed): one static IP per family, IPv4 first', () => {
  const text = POD1.replace('nnet.io/ip: 1.2.0.100', 'nnet.io/ip: "FD00:1::100 , 1.2.0.100"');
  assert.deepEqual(podNetworksFromManifests([{ source: 'pod.yaml', text }]).requests, [
    { namespace: 'team-a', pod: 'pod1', subnet: '1.2.0.0/16', ips: ['1.2.0.100', 'fd00:1::100'] },
  ]);
});

test('nnet.io/ip: two IPs of one family, a malformed IPv6 or an empty entry is refused, naming the value', () => {
  const withIps = (value: string) => [{ source: 'pod.yaml', text: POD1.replace('1.2.0.100', `"${value}"`) }];
  rejects(
    withIps('1.2.0.100,1.2.0.101'),
    /^invalid annotation nnet\.io\/ip="1\.2\.0\.101" on pod team-a\/pod1 in pod\.yaml: two IPv4 addresses \(1\.2\.0\.100 and 1\.2\.0\.101\) for one NIC; give at most one per family$/,
  );
  rejects(
    withIps('1.2.0.100,fd00:1::1::2'),
    /^invalid annotation nnet\.io\/ip="fd00:1::1::2" on pod team-a\/pod1 in pod\.yaml: not a valid IPv6 address$/,
  );
  rejects(
    withIps('1.2.0.100,'),
    /^invalid annotation nnet\.io\/ip="1\.2\.0\.100," .*: an empty entry in the list of IPs/,
  );
});

test('an unknown nnet.io annotation is refused (typo protection)', () => {
  rejects(
    [{ source: 'pod.yaml', text: POD1.replace('nnet.io/ip:', 'nnet.io/ipaddr:') }],
    /unknown annotation nnet\.io\/ipaddr on pod team-a\/pod1/,
  );
});

test('a non-string annotation value is refused', () => {
  rejects(
    [{ source: 'p.yaml', text: POD1.replace('nnet.io/ip: 1.2.0.100', 'nnet.io/ip: 5') }],
    /annotation nnet\.io\/ip on pod team-a\/pod1 in p\.yaml must be a string/,
  );
});

test('-n naming another namespace than the Pod is refused as kubectl does', () => {
  rejects(
    [{ source: 'pod.yaml', text: POD1 }],
    /the namespace from the provided object "team-a" does not match the namespace "other"/,
    {
      namespace: 'other',
    },
  );
});

test('N-Net annotations on a Deployment template are refused: a static IP belongs to one pod', () => {
  const text = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    metadata:
      annotations: {nnet.io/ip: 1.2.0.5}
`;
  rejects(
    [{ source: 'deploy.yaml', text }],
    /^Deployment\/web in deploy\.yaml has nnet\.io\/ip: N-Net annotations are read from Pods only/,
  );
});

test('an annotated Pod without a name (generateName) is refused', () => {
  const text = POD1.replace('  name: pod1\n', '  generateName: pod-\n');
  rejects([{ source: 'gen.yaml', text }], /no metadata\.name/);
});

test('the same pod in two files is refused', () => {
  rejects(
    [
      { source: 'a.yaml', text: POD1 },
      { source: 'b.yaml', text: POD1 },
    ],
    /pod team-a\/pod1 appears twice \(a\.yaml and b\.yaml\)/,
  );
});

test('annotations "ignore" (delete -f) lists pods and never fails on their annotations', () => {
  const text = POD1.replace('1.2.0.100', 'not-an-ip').replace('nnet.io/subnet', 'nnet.io/bogus');
  assert.deepEqual(podNetworksFromManifests([{ source: 'p.yaml', text }], { annotations: 'ignore' }), {
    requests: [],
    pods: [{ namespace: 'team-a', pod: 'pod1' }],
    usesDefaultNamespace: false,
  });
});

test('nnet.io/security-groups: a comma-separated list of names or ids, each once; an empty entry or a 17th group is refused', () => {
  const withGroups = (value: string) =>
    POD1.replace('nnet.io/ip: 1.2.0.100', `nnet.io/security-groups: "${value}"`);
  assert.deepEqual(
    podNetworksFromManifests([{ source: 'pod.yaml', text: withGroups('web, ssh,web') }]).requests,
    [{ namespace: 'team-a', pod: 'pod1', subnet: '1.2.0.0/16', ips: [], securityGroups: ['web', 'ssh'] }],
  );
  rejects(
    [{ source: 'pod.yaml', text: withGroups('web,,ssh') }],
    /invalid annotation nnet\.io\/security-groups="web,,ssh" on .*an empty entry in the list of security groups/,
  );
  const many = Array.from({ length: 17 }, (_, i) => `g${i}`).join(',');
  rejects(
    [{ source: 'pod.yaml', text: withGroups(many) }],
    /invalid annotation nnet\.io\/security-groups=.*17 security groups; a pod may have at most 16/,
  );
});

test('nnet.io/networks: the first network is eth0, the others net1, net2, … each NETWORK[@IP]; with nnet.io/network too it is refused', () => {
  const text = POD1.replace(
    'nnet.io/subnet: 1.2.0.0/16\n    nnet.io/ip: 1.2.0.100',
    'nnet.io/networks: "pods, storage@10.77.0.50"',
  );
  assert.deepEqual(podNetworksFromManifests([{ source: 'pod.yaml', text }]).requests, [
    {
      namespace: 'team-a',
      pod: 'pod1',
      network: 'pods',
      ips: [],
      extraNics: [{ network: 'storage', ips: ['10.77.0.50'] }],
    },
  ]);
  rejects(
    [
      {
        source: 'pod.yaml',
        text: text.replace('nnet.io/networks', 'nnet.io/network: pods\n    nnet.io/networks'),
      },
    ],
    /has both nnet\.io\/network and nnet\.io\/networks/,
  );
  rejects(
    [{ source: 'pod.yaml', text: text.replace('storage@10.77.0.50', 'storage@10.77.0') }],
    /invalid annotation nnet\.io\/networks=.*the IP after @/,
  );
});
