/**
 * What a Kubernetes node needs from N-Net (experiment 3), on two real nodes (OVS + ovn-controller
 * in their own netns, geneve between them) with real Neutron/OVN and real netfilter in the node
 * namespaces: the node reaches its pods (kubelet probes) and another node's host network reaches
 * them; ClusterIP Services work through kube-proxy's own rules (a STAND-IN that writes the rules
 * kube-proxy writes: lab/kube-proxy-standin.ts — kube-proxy needs an API server, none can run
 * here), for TCP and UDP (DNS, served by dnsmasq in a pod), with the endpoint on the same node and
 * on the other one; replies come back through the node that did the DNAT.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { applyStandin, removeStandin, type StandinService } from '../../lab/kube-proxy-standin.ts';
import { httpFrom, lookupFrom as lookupDns } from '../../lab/probes.ts';
import { completeNodeAccess, DEVICE_OWNER, NODE_PORT_OWNER } from '../../src/resources/index.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { cniRuntime, type HarnessResult } from '../support/cni.ts';
import { PROJECT_ROOT } from '../support/env.ts';
import { bundleKubenetctl, kubenetctlRunner, userEnv } from '../support/kubenetctl.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';
import { dnsServerIn, httpServerIn } from '../support/servers.ts';

const PREFIX = 'nntk8';
let c: TestCluster;
const cleanups: (() => unknown)[] = [];

interface Pod {
  name: string;
  node: 0 | 1;
  netns: TestNetns;
  id: string;
  ip: string;
}
const pods: Record<string, Pod> = {};

function ok(r: HarnessResult, what: string): Record<string, unknown> {
  assert.equal(r.code, 0, `${what} failed: ${r.stdout} ${r.stderr}`);
  return r.json ?? {};
}

async function addPod(name: string, node: 0 | 1): Promise<Pod> {
  const netns = createNetns(PREFIX);
  cleanups.push(() => netns.remove());
  const id = `${name}-${Math.random().toString(16).slice(2, 10)}`;
  const call = { id, netns: netns.path, args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: name } };
  const res = ok(await c.rts[node]!.callAsync('add', call), `ADD ${name}`);
  cleanups.push(() => c.rts[node]!.call('del', call));
  const ip = (res.ips as { address: string }[])[0]!.address.split('/')[0]!;
  const pod = { name, node, netns, id, ip };
  pods[name] = pod;
  return pod;
}

/** busybox httpd in the pod, answering "served by NAME". */
const httpServer = (p: Pod) => httpServerIn(cleanups, p.netns.name, p.name, PREFIX);

/** curl from a netns (by name), retried until the deadline: lab/probes.ts, as the lab's experiment 3 does. */
const fetchFrom = (netns: string, url: string) => httpFrom(`/run/netns/${netns}`, url);

/** The name resolves through `server` to a ClusterIP (10.96.…), from a netns (by name). */
async function lookupFrom(netns: string, name: string, server: string): Promise<void> {
  assert.match(await lookupDns(`/run/netns/${netns}`, name, server), /^10\.96\./);
}

function execAsync(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => {
      stdout += b;
    });
    child.stderr.on('data', (b) => {
      stderr += b;
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

const WEB_LOCAL = '10.96.0.20';
const WEB_REMOTE = '10.96.0.30';
const DNS = '10.96.0.10';
const HOST_PORT = 8080;

describe('a Kubernetes node on N-Net: probes, host network, ClusterIP Services (TCP, UDP/DNS)', () => {
  before(async () => {
    c = await startTestCluster({ prefix: PREFIX, backend: 'sqlite', nodes: 2 });
    await addPod('client1', 0);
    await addPod('web1', 0);
    await addPod('client2', 1);
    await addPod('web2', 1);
    await addPod('dns2', 1);
    httpServer(pods.web1!);
    httpServer(pods.web2!);
    dnsServerIn(cleanups, pods.dns2!.netns.name, pods.dns2!.ip, {
      'web1.default.svc.cluster.local': WEB_LOCAL,
      'web2.default.svc.cluster.local': WEB_REMOTE,
    });
    // The stand-in for kube-proxy, on both nodes, as kube-proxy would write it on every node.
    const services: StandinService[] = [
      {
        name: 'default/web1:http',
        clusterIp: WEB_LOCAL,
        port: 80,
        protocol: 'tcp',
        endpoints: [{ ip: pods.web1!.ip, port: 80 }],
      },
      {
        name: 'default/web2:http',
        clusterIp: WEB_REMOTE,
        port: 80,
        protocol: 'tcp',
        endpoints: [{ ip: pods.web2!.ip, port: 80 }],
      },
      {
        name: 'kube-system/kube-dns:dns',
        clusterIp: DNS,
        port: 53,
        protocol: 'udp',
        endpoints: [{ ip: pods.dns2!.ip, port: 53 }],
      },
    ];
    for (const n of c.nodes) {
      await applyStandin(n.netnsName, services);
      cleanups.push(() => removeStandin(n.netnsName));
    }
  });
  after(async () => {
    for (const f of cleanups.reverse())
      await Promise.resolve()
        .then(f)
        .catch(() => undefined);
    await c?.stop();
  });

  test("each node has one port of its own on the pod network, tagged with the node, in the node's netns", async () => {
    const ports = await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: NODE_PORT_OWNER });
    assert.deepEqual(ports.map((p) => p.hostId).sort(), [c.nodes[0]!.name, c.nodes[1]!.name].sort());
    for (const p of ports) {
      assert.ok(p.tags.includes(`nnet-node=${p.hostId}`), p.tags.join(','));
      const node = c.nodes.find((n) => n.name === p.hostId)!;
      const addrs = node.exec(['ip', '-o', 'addr', 'show']).stdout;
      assert.match(
        addrs,
        new RegExp(`nnh[0-9a-f]{12}\\s+inet ${p.fixedIps[0]!.ipAddress.replaceAll('.', '\\.')}/16`),
      );
    }
    // Pods carry the cluster's node-access group, which admits exactly the node ports' addresses
    // (one rule each), and nothing else: a pod's own groups decide what other pods may send.
    const access = completeNodeAccess((await c.store.clusters.get(c.name))?.nodeAccess);
    assert.ok(access, 'the cluster records its node-access group');
    const podPorts = await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: DEVICE_OWNER });
    assert.equal(podPorts.length, 5);
    for (const p of podPorts) assert.ok(p.securityGroups.includes(access.securityGroupId), p.id);
    const admitted = (await c.neutron.securityGroups.get(access.securityGroupId)).rules.filter(
      (r) => r.direction === 'ingress',
    );
    const allNodePorts = await c.neutron.ports.list({
      deviceOwner: NODE_PORT_OWNER,
      tags: [`nnet-cluster=${c.name}`],
    });
    assert.deepEqual(
      admitted.map((r) => r.remoteIpPrefix ?? '(anywhere)').sort(),
      allNodePorts
        .flatMap((p) => p.fixedIps.map((f) => `${f.ipAddress}/${f.ipAddress.includes(':') ? 128 : 32}`))
        .sort(),
    );
    assert.ok(admitted.every((r) => !r.remoteAddressGroupId && !r.remoteGroupId && r.protocol == null));
  });

  test('the node reaches a pod on it (a kubelet probe), and node 2’s host network reaches a pod on node 1', async () => {
    assert.equal(await fetchFrom(c.nodes[0]!.netnsName, `http://${pods.web1!.ip}/`), 'served by web1\n');
    assert.equal(await fetchFrom(c.nodes[1]!.netnsName, `http://${pods.web1!.ip}/`), 'served by web1\n');
    assert.equal(await fetchFrom(c.nodes[0]!.netnsName, `http://${pods.web2!.ip}/`), 'served by web2\n');
  });

  test('a pod reaches a ClusterIP whose endpoint is on its own node (TCP)', async () => {
    assert.equal(await fetchFrom(pods.client1!.netns.name, `http://${WEB_LOCAL}/`), 'served by web1\n');
  });

  test('a pod reaches a ClusterIP whose endpoint is on the other node, and the reply returns through its node', async () => {
    assert.equal(await fetchFrom(pods.client1!.netns.name, `http://${WEB_REMOTE}/`), 'served by web2\n');
    // Node 1 did the DNAT and saw the reply: its conntrack entry is not UNREPLIED.
    const ct = c.nodes[0]!.exec(['conntrack', '-L', '-d', WEB_REMOTE]).stdout;
    assert.match(
      ct,
      new RegExp(`src=${pods.client1!.ip.replaceAll('.', '\\.')} dst=${WEB_REMOTE.replaceAll('.', '\\.')}`),
    );
    assert.doesNotMatch(ct.split('\n').find((l) => l.includes(`dst=${WEB_REMOTE}`)) ?? '', /UNREPLIED/);
  });

  test('pods on each node resolve a name through the DNS ClusterIP (UDP to dnsmasq on node 2)', async () => {
    await lookupFrom(pods.client1!.netns.name, 'web2.default.svc.cluster.local', DNS);
    await lookupFrom(pods.client2!.netns.name, 'web1.default.svc.cluster.local', DNS);
  });

  test('hostPort: portmap chained after nnet (libcni, portMappings) answers at node 1’s address, from node 2 and from node 1 itself; DEL removes its rules', async () => {
    const node1 = c.nodes[0]!;
    // The runtime as a node runs it: in the node's netns, with nnet's entry followed by portmap.
    const { cniVersion: _v, name: _n, ...nnet } = c.rts[0]!.plugin;
    const rt = cniRuntime({
      prefix: `${PREFIX}-hp`,
      networkName: String(c.rts[0]!.plugin.name),
      plugin: nnet,
      chain: [{ type: 'portmap', capabilities: { portMappings: true }, snat: true }],
      netns: node1.netnsPath,
    });
    cleanups.push(() => rt.remove());
    const netns = createNetns(PREFIX);
    cleanups.push(() => netns.remove());
    const call = {
      id: `hp1-${Math.random().toString(16).slice(2, 10)}`,
      netns: netns.path,
      args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'hp1' },
      portMappings: [{ hostPort: HOST_PORT, containerPort: 80, protocol: 'tcp' as const }],
    };
    let added = true;
    cleanups.push(() => added && rt.call('del', call));
    const res = ok(await rt.callAsync('add', call), 'ADD through nnet and portmap');
    const hp1: Pod = {
      name: 'hp1',
      node: 0,
      netns,
      id: call.id,
      ip: (res.ips as { address: string }[])[0]!.address.split('/')[0]!,
    };
    httpServer(hp1);
    const natRules = () => node1.exec(['iptables', '-t', 'nat', '-S']).stdout;
    assert.match(
      natRules(),
      new RegExp(`--dport ${HOST_PORT} .*--to-destination ${hp1.ip.replaceAll('.', '\\.')}:80`),
    );
    const addr = node1
      .exec(['ip', '-4', '-o', 'addr', 'show', 'dev', 'br-phy'])
      .stdout.match(/inet (\S+)\//)?.[1];
    assert.ok(addr, 'node 1 has an underlay address');
    assert.equal(await fetchFrom(c.nodes[1]!.netnsName, `http://${addr}:${HOST_PORT}/`), 'served by hp1\n');
    assert.equal(await fetchFrom(node1.netnsName, `http://${addr}:${HOST_PORT}/`), 'served by hp1\n');

    ok(await rt.callAsync('del', call), 'DEL through nnet and portmap');
    added = false;
    assert.doesNotMatch(natRules(), new RegExp(`--dport ${HOST_PORT} `), 'portmap removed its DNAT');
    const left = await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: DEVICE_OWNER });
    assert.ok(!left.some((p) => p.fixedIps.some((f) => f.ipAddress === hp1.ip)), 'the pod’s port is gone');
    assert.equal(await c.store.attachments.get({ containerId: call.id, ifname: 'eth0' }), undefined);
  });

  test('the CNI result lists the Service route N-Net installed, and CHECK verifies it', async () => {
    const p = pods.client1!;
    const node = (await c.store.nodes.get({ cluster: c.name, name: c.nodes[0]!.name }))!;
    const via = node.ports[0]!.ips[0]!.address;
    const route = p.netns.exec(['ip', 'route', 'show', '10.96.0.0/12']);
    assert.match(route, new RegExp(`10\\.96\\.0\\.0/12 via ${via.replaceAll('.', '\\.')} dev eth0`));
    const call = {
      id: p.id,
      netns: p.netns.path,
      args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: p.name },
    };
    ok(c.rts[0]!.call('check', call), 'CHECK');
    p.netns.exec(['ip', 'route', 'del', '10.96.0.0/12']);
    const r = c.rts[0]!.call('check', call);
    assert.notEqual(r.code, 0, 'CHECK notices the missing Service route');
    assert.match(r.stdout, /lacks route 10\.96\.0\.0\/12/);
    p.netns.exec(['ip', 'route', 'add', '10.96.0.0/12', 'via', via, 'dev', 'eth0']);
    ok(c.rts[0]!.call('check', call), 'CHECK after the route is back');
  });

  test('after node 1’s ovs-vswitchd restarts, the agent restores its own port and its pods: every row passes again', async () => {
    await c.nodes[0]!.restartVswitchd('SIGKILL');
    const agent = await execAsync([
      process.execPath,
      join(PROJECT_ROOT, 'dist/nnet-agent.js'),
      '--cni-config',
      join(c.rts[0]!.confDir, '10-nnet.conflist'),
      '--once',
    ]);
    assert.equal(agent.code, 0, agent.stderr);
    // A node port's tap never left the node's netns, so the new ovs-vswitchd reopens it as it was.
    assert.match(c.nodes[0]!.exec(['ip', '-o', 'addr', 'show']).stdout, /nnh[0-9a-f]{12}\s+inet 1\.2\./);
    assert.equal(await fetchFrom(c.nodes[0]!.netnsName, `http://${pods.web1!.ip}/`), 'served by web1\n');
    assert.equal(await fetchFrom(c.nodes[1]!.netnsName, `http://${pods.web1!.ip}/`), 'served by web1\n');
    assert.equal(await fetchFrom(pods.client1!.netns.name, `http://${WEB_LOCAL}/`), 'served by web1\n');
    assert.equal(await fetchFrom(pods.client1!.netns.name, `http://${WEB_REMOTE}/`), 'served by web2\n');
    await lookupFrom(pods.client1!.netns.name, 'web2.default.svc.cluster.local', DNS);
  });

  test('a Service CIDR that overlaps the pod subnet is a config error (code 7) naming both, and nothing is made', async () => {
    const before = await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: DEVICE_OWNER });
    await c.store.clusters.update(c.name, (cur) => cur && { ...cur, serviceCidrs: ['1.2.0.0/20'] });
    try {
      const netns = createNetns(PREFIX);
      cleanups.push(() => netns.remove());
      const r = await c.rts[0]!.callAsync('add', {
        id: 'overlap',
        netns: netns.path,
        args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'overlap' },
      });
      assert.equal(r.code, 2, r.stdout);
      assert.equal(r.json?.code, 7);
      assert.match(String(r.json?.msg), /Service CIDR 1\.2\.0\.0\/20 overlaps the pod subnet 1\.2\.0\.0\/16/);
      const after = await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: DEVICE_OWNER });
      assert.deepEqual(after.map((p) => p.id).sort(), before.map((p) => p.id).sort(), 'no pod port left');
      assert.equal(netns.exec(['ip', '-o', 'link']).includes('eth0'), false);
    } finally {
      await c.store.clusters.update(c.name, (cur) => {
        if (!cur) return undefined;
        const { serviceCidrs: _, ...rest } = cur;
        return rest;
      });
    }
  });

  test('when the node cannot make its port on a network, ADD fails with code 11, leaks nothing, and the next ADD succeeds', async () => {
    // A network whose only subnet has one free address: the pod takes it, the node port finds none.
    const net = await c.neutron.networks.create({ name: `${c.name}-full` });
    await c.store.resources.put({ kind: 'network', id: net.id, name: net.name, cluster: c.name });
    cleanups.push(async () => {
      for (const p of await c.neutron.ports.list({ networkId: net.id }))
        await c.neutron.ports.ensureDeleted(p.id);
      await c.neutron.networks.ensureDeleted(net.id);
    });
    const sub = await c.neutron.subnets.create({
      networkId: net.id,
      cidr: '10.77.0.0/24',
      allocationPools: [{ start: '10.77.0.10', end: '10.77.0.10' }],
    });
    const netns = createNetns(PREFIX);
    cleanups.push(() => netns.remove());
    const ref = { cluster: c.name, namespace: 'default', pod: 'full' };
    await c.store.podConfigs.create({
      ...ref,
      nics: [{ ifname: 'eth0', networkId: net.id, fixedIps: [{ subnetId: sub.id, ip: '10.77.0.10' }] }],
    });
    cleanups.push(() => c.store.podConfigs.delete(ref));
    const call = {
      id: 'full-net',
      netns: netns.path,
      args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'full' },
    };
    const r = await c.rts[0]!.callAsync('add', call);
    assert.equal(r.json?.code, 11, r.stdout);
    assert.match(String(r.json?.msg), /has no port of its own on network/);
    assert.deepEqual(
      await c.neutron.ports.list({ networkId: net.id }),
      [],
      'neither the pod port nor a node port is left',
    );
    await c.neutron.subnets.update(sub.id, { allocationPools: [{ start: '10.77.0.10', end: '10.77.0.20' }] });
    ok(await c.rts[0]!.callAsync('add', call), 'ADD once the network has room');
    ok(await c.rts[0]!.callAsync('del', call), 'DEL');
  });

  test('kubenetctl gc --node releases a node that left: its pods’ ports and its own port, not the other node’s', async () => {
    const bin = await bundleKubenetctl(PREFIX);
    cleanups.push(() => bin.remove());
    const dir = mkdtempSync(join(tmpdir(), `${PREFIX}-k-`));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const k = kubenetctlRunner(bin.path, { ...userEnv(c.env, dir, c.storeUrl), NNET_CLUSTER: c.name }, dir);
    const gone = c.nodes[1]!.name;
    // A node that left runs no agent: a live one's next reconcile would make its port and record again.
    await c.agents[1]!.stop();
    const out = k.ok(['gc', '--node', gone]).stdout;
    assert.match(out, new RegExp(`node ${gone}: released the node's port`));
    const nodePortsLeft = await c.neutron.ports.list({
      networkId: c.network.id,
      deviceOwner: NODE_PORT_OWNER,
    });
    assert.deepEqual(
      nodePortsLeft.map((p) => p.hostId),
      [c.nodes[0]!.name],
    );
    assert.deepEqual(await c.neutron.ports.list({ hostId: gone, deviceOwner: DEVICE_OWNER }), []);
    assert.equal(await c.store.nodes.get({ cluster: c.name, name: gone }), undefined);
    assert.deepEqual(await c.store.attachments.list({ node: gone }), []);
    // What the node-access group still admits is node 1's: its port on the pod network and on the test's other network.
    const access = completeNodeAccess((await c.store.clusters.get(c.name))!.nodeAccess)!;
    const admitted = (await c.neutron.securityGroups.get(access.securityGroupId)).rules.flatMap((r) =>
      r.direction === 'ingress' && r.remoteIpPrefix ? [r.remoteIpPrefix] : [],
    );
    const node1Ports = await c.neutron.ports.list({ hostId: c.nodes[0]!.name, deviceOwner: NODE_PORT_OWNER });
    assert.deepEqual(admitted.sort(), node1Ports.map((p) => `${p.fixedIps[0]!.ipAddress}/32`).sort());
  });
});
