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
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { applyStandin, removeStandin, type StandinService } from '../../lab/kube-proxy-standin.ts';
import { DEVICE_OWNER, NODE_PORT_OWNER } from '../../src/resources/index.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import type { HarnessResult } from '../support/cni.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';

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

function serve(cmd: string[], netns: string): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', netns, ...cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
  cleanups.push(() => child.kill('SIGKILL'));
  return child;
}

/** busybox httpd in the pod, answering "served by NAME". */
function httpServer(p: Pod): void {
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}-www-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'index.html'), `served by ${p.name}\n`);
  serve(['busybox', 'httpd', '-f', '-p', '80', '-h', dir], p.netns.name);
}

/** curl from a netns, retried until the deadline (the first packets may be lost while OVN learns). */
async function fetchFrom(netns: string, url: string, deadlineMs = 30_000): Promise<string> {
  const until = Date.now() + deadlineMs;
  let last = '';
  for (;;) {
    // curl, not busybox wget: the static busybox's wget segfaults inside these namespaces.
    const r = await execAsync(['ip', 'netns', 'exec', netns, 'curl', '-sS', '-m', '5', url]);
    if (r.code === 0) return r.stdout;
    last = r.stderr;
    if (Date.now() > until) throw new Error(`curl ${url} from ${netns} failed: ${last}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

async function lookupFrom(netns: string, name: string, server: string, deadlineMs = 30_000): Promise<string> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const r = await execAsync(['ip', 'netns', 'exec', netns, 'busybox', 'nslookup', name, server]);
    // busybox nslookup also asks for AAAA, which dnsmasq refuses here: the A answer is what counts.
    const answer = r.stdout.split(`Name:\t${name}`)[1] ?? r.stdout.split(`Name: ${name}`)[1] ?? '';
    if (/^\s*Address:?\s+10\.96\./.test(answer)) return r.stdout;
    if (Date.now() > until)
      throw new Error(`nslookup ${name} ${server} from ${netns} failed: ${r.stdout} ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 500));
  }
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
    serve(
      [
        'dnsmasq',
        '--keep-in-foreground',
        '--no-resolv',
        '--no-hosts',
        '--bind-interfaces',
        `--listen-address=${pods.dns2!.ip}`,
        '--pid-file=',
        `--address=/web1.default.svc.cluster.local/${WEB_LOCAL}`,
        `--address=/web2.default.svc.cluster.local/${WEB_REMOTE}`,
      ],
      pods.dns2!.netns.name,
    );
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
    // Pods carry the cluster's node-access group, which admits the node ports' addresses.
    const access = (await c.store.clusters.get(c.name))?.nodeAccess;
    assert.ok(access, 'the cluster records its node-access groups');
    const podPorts = await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: DEVICE_OWNER });
    assert.equal(podPorts.length, 5);
    for (const p of podPorts) assert.ok(p.securityGroups.includes(access.securityGroupId), p.id);
    const group = await c.neutron.addressGroups.get(access.addressGroupId);
    assert.deepEqual(group.addresses.sort(), ports.map((p) => `${p.fixedIps[0]!.ipAddress}/32`).sort());
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
});
