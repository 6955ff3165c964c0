/**
 * N-Net outside Kubernetes: podman (4.3, runc, its CNI backend; scripts/podman.sh with a private
 * store) runs a real container on the nnet conflist of a real node (own OVS + ovn-controller joined
 * to the env's OVN), with the static IP `kubenetctl create podnetwork` reserved for the container's
 * name. The container reaches a pod that libcni added on the same network; when it exits, its port
 * is unbound and kept (the reservation survives), and nothing else is left.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { busyboxTarball, IMAGE, importImage, type NodePodman, podman } from '../../lab/podman.ts';
import { mountsUnder } from '../../lab/sh.ts';
import { listPorts } from '../../src/plug/index.ts';
import { RESERVED_TAG } from '../../src/resources/index.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { clusterKubenetctl } from '../support/kubenetctl.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';

const IP = '1.2.0.150';
let c: TestCluster;
let pm: NodePodman;
let pod: TestNetns | undefined;
const podCall = {
  id: randomBytes(16).toString('hex'),
  netns: '',
  args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'peer' },
};

function kubenetctl(args: string[]) {
  // A member of the cluster's project reserves, as the cluster's users do.
  const r = clusterKubenetctl(c, args);
  assert.equal(r.status, 0, `kubenetctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function until(what: string, fn: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}

before(async () => {
  c = await startTestCluster({ prefix: 'nntm', backend: 'etcd' });
  // podman in the host netns: on a host that is itself the node, as a podman user runs it. The
  // conflist holds nnet alone, so no plugin writes netfilter rules here. (The lab runs podman in
  // its nodes' netns; lab/README.md.)
  pm = {
    node: c.name,
    netns: '',
    dir: mkdtempSync(join(tmpdir(), `${c.name}-podman-`)),
    netD: c.rt.confDir,
    cniBin: c.rt.binDir,
  };
  await importImage(pm, busyboxTarball(pm.dir));
});

after(async () => {
  if (pm) {
    await podman(pm, ['rm', '-f', '-t', '0', '-a'], { allowFail: true });
    await podman(pm, ['rmi', '-f', IMAGE], { allowFail: true });
    if ((await mountsUnder(pm.dir)).length === 0) rmSync(pm.dir, { recursive: true, force: true });
  }
  if (pod) {
    c.rt.call('del', { ...podCall, netns: pod.path });
    pod.remove();
  }
  if (c) {
    for (const p of await c.neutron.ports.list({ networkId: c.network.id, tags: [RESERVED_TAG] }))
      await c.neutron.ports.ensureDeleted(p.id);
    await c.stop();
  }
});

test('podman runs a container on N-Net with the IP kubenetctl reserved; it pings a pod; on exit the port is unbound and kept; nothing leaks', async () => {
  const name = `${c.name}-ctr`;
  kubenetctl(['create', 'podnetwork', name, '-n', 'default', '--subnet', c.subnet.id, '--ip', IP]);
  const [reserved] = await c.neutron.ports.list({ networkId: c.network.id, tags: [RESERVED_TAG] });
  assert.ok(reserved, 'kubenetctl reserved a port');
  assert.deepEqual(
    reserved.fixedIps.map((f) => f.ipAddress),
    [IP],
  );

  pod = createNetns('nntm');
  const add = c.rt.call('add', { ...podCall, netns: pod.path });
  assert.equal(add.code, 0, add.stdout);
  const peerIp = String((add.json as { ips: { address: string }[] }).ips[0]!.address).split('/')[0]!;

  const network = String(c.rt.plugin.name);
  const run = await podman(
    pm,
    [
      'run',
      '-d',
      '--name',
      name,
      '--network',
      network,
      '--pull=never',
      '--cap-add',
      'NET_RAW',
      IMAGE,
      'sleep',
      '600',
    ],
    {
      timeoutMs: 120_000,
    },
  );
  const containerId = run.stdout.trim();
  const sandbox = (
    await podman(pm, ['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', name])
  ).stdout.trim();
  assert.match(sandbox, /^\/run\/netns\//);

  const addr = await podman(pm, ['exec', name, 'ip', '-o', '-4', 'addr', 'show', 'eth0']);
  assert.match(addr.stdout, new RegExp(`inet ${IP.replaceAll('.', '\\.')}/16`));
  const ping = await podman(pm, ['exec', name, 'ping', '-c', '3', '-W', '5', peerIp], {
    allowFail: true,
    timeoutMs: 60_000,
  });
  assert.equal(ping.code, 0, `ping from the container to the pod at ${peerIp}: ${ping.stdout}${ping.stderr}`);

  const bound = await c.neutron.ports.get(reserved.id);
  assert.equal(bound.hostId, c.name, 'ADD bound the reserved port to the node');
  assert.equal(bound.deviceId, containerId);

  // The container exits; podman runs CNI DEL as it cleans up after it.
  await podman(pm, ['stop', '-t', '0', name]);
  await until(
    'the reserved port to be unbound',
    async () => (await c.neutron.ports.get(reserved.id)).hostId === '',
  );
  const kept = await c.neutron.ports.get(reserved.id);
  assert.deepEqual(
    kept.fixedIps.map((f) => f.ipAddress),
    [IP],
    'the reservation keeps its IP',
  );
  assert.ok(kept.tags.includes(RESERVED_TAG));
  assert.match(
    kubenetctl(['get', 'podnetwork', name, '-n', 'default']),
    new RegExp(IP.replaceAll('.', '\\.')),
  );

  await podman(pm, ['rm', name]);
  assert.equal((await podman(pm, ['ps', '-a', '-q'])).stdout.trim(), '', 'no container left');
  assert.ok(!existsSync(sandbox), `the container's netns ${sandbox} is gone`);
  const attachments = await c.store.attachments.list({ node: c.name });
  assert.deepEqual(
    attachments.map((a) => a.pod),
    ['peer'],
    'only the libcni pod is attached',
  );
  const ovs = (await listPorts(c.node.plugSettings())).map((p) => p.ifaceId);
  assert.deepEqual(ovs, [attachments[0]!.portId], 'only the libcni pod has an OVS port');

  kubenetctl(['delete', 'podnetwork', name, '-n', 'default']);
  assert.deepEqual(await c.neutron.ports.list({ networkId: c.network.id, tags: [RESERVED_TAG] }), []);
});
