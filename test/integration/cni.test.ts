/**
 * The nnet plugin end to end, driven by libcni (the library containerd and CRI-O use) against the
 * real Keystone, Neutron (ML2/OVN), an OVS node registered as an OVN chassis, and both stores.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { listPorts } from '../../src/plug/index.ts';
import { DEVICE_OWNER, reservePort } from '../../src/resources/index.ts';
import { type StoreBackend, startTestCluster, type TestCluster } from '../support/cluster.ts';
import type { HarnessResult } from '../support/cni.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';

const cid = () => randomBytes(16).toString('hex');
const podArgs = (ns: string, pod: string) => ({
  K8S_POD_NAMESPACE: ns,
  K8S_POD_NAME: pod,
  K8S_POD_INFRA_CONTAINER_ID: 'x',
});

function ok(r: HarnessResult, what: string): Record<string, unknown> {
  assert.equal(r.code, 0, `${what} failed: ${r.stdout} ${r.stderr}`);
  return r.json ?? {};
}

async function waitFor(what: string, fn: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (
      await Promise.resolve()
        .then(fn)
        .catch(() => false)
    )
      return;
    await sleep(200);
  }
  assert.fail(`timed out waiting for ${what}`);
}

function pings(from: TestNetns, ip: string): boolean {
  return from.run(['ping', '-c', '1', '-W', '1', ip]).code === 0;
}

/** What a pod leaves behind: N-Net's Neutron ports on the test network, OVS ports, store rows. */
async function leftovers(c: TestCluster) {
  const ports = await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: DEVICE_OWNER });
  const ovs = await listPorts(c.node.plugSettings());
  const rows = await c.store.attachments.list({ node: c.name });
  return {
    neutron: ports.map((p) => p.id),
    ovs: ovs.map((p) => p.name),
    rows: rows.map((r) => r.containerId),
  };
}

async function assertNothingLeft(c: TestCluster, except: { neutron?: string[] } = {}) {
  const l = await leftovers(c);
  assert.deepEqual(
    l.neutron.filter((p) => !except.neutron?.includes(p)),
    [],
    'Neutron ports left',
  );
  assert.deepEqual(l.ovs, [], 'OVS ports left');
  assert.deepEqual(l.rows, [], 'attachment rows left');
}

function suite(backend: StoreBackend) {
  describe(`nnet through libcni, ${backend} store`, () => {
    let c: TestCluster;
    const pods: TestNetns[] = [];
    const pod = () => {
      const p = createNetns('nntc');
      pods.push(p);
      return p;
    };
    before(async () => {
      c = await startTestCluster({ prefix: 'nntc', backend });
    });
    after(async () => {
      for (const p of pods) p.remove();
      await c?.stop();
    });

    test('ADD of a pod with static IP 1.2.0.100: valid result, eth0 has it, port ACTIVE on the node, reachable, CHECK passes, DEL twice, nothing left', async () => {
      // What kubenetctl does for `--subnet 1.2.0.0/16 --ip 1.2.0.100`: reserve the port, record the config.
      const ref = { cluster: c.name, namespace: 'team-a', pod: 'pod1' };
      const fixedIps = [{ subnetId: c.subnet.id, ip: '1.2.0.100' }];
      const reserved = await reservePort(c.neutron, { pod: ref, networkId: c.network.id, fixedIps });
      await c.store.podConfigs.create({
        ...ref,
        nics: [{ ifname: 'eth0', networkId: c.network.id, fixedIps, reservedPortId: reserved.id }],
      });

      const p1 = pod();
      const id1 = cid();
      const call1 = { id: id1, netns: p1.path, args: podArgs('team-a', 'pod1') };
      const res = ok(c.rt.call('add', call1), 'ADD');
      assert.equal(res.cniVersion, '1.0.0');
      const ips = res.ips as { address: string; gateway?: string; interface: number }[];
      assert.equal(ips[0]?.address, '1.2.0.100/16');
      assert.equal(ips[0]?.gateway, '1.2.0.1');
      const ifaces = res.interfaces as { name: string; mac: string; sandbox: string }[];
      assert.equal(ifaces[ips[0]!.interface]?.name, 'eth0');
      assert.equal(ifaces[0]?.sandbox, p1.path);
      assert.equal(ifaces[0]?.mac, reserved.macAddress);

      const link = JSON.parse(p1.exec(['ip', '-j', 'addr', 'show', 'eth0']))[0];
      assert.ok(
        link.addr_info.some(
          (a: { local: string; prefixlen: number }) => a.local === '1.2.0.100' && a.prefixlen === 16,
        ),
      );
      assert.equal(link.address, reserved.macAddress);

      await waitFor(
        'the Neutron port to go ACTIVE',
        async () => (await c.neutron.ports.get(reserved.id)).status === 'ACTIVE',
      );
      const bound = await c.neutron.ports.get(reserved.id);
      assert.equal(bound.hostId, c.name);
      assert.equal(bound.deviceId, id1);

      // A second pod, with no N-Net config: a port on the cluster's default network.
      const p2 = pod();
      const id2 = cid();
      const call2 = { id: id2, netns: p2.path, args: podArgs('team-a', 'pod2') };
      const res2 = ok(c.rt.call('add', call2), 'ADD pod2');
      const ip2 = (res2.ips as { address: string }[])[0]!.address.split('/')[0]!;
      assert.notEqual(ip2, '1.2.0.100');
      await waitFor('pod2 to reach pod1 at 1.2.0.100', () => pings(p2, '1.2.0.100'));
      assert.ok(pings(p1, ip2), 'pod1 reaches pod2');

      ok(c.rt.call('check', call1), 'CHECK');

      ok(c.rt.call('del', call1), 'DEL');
      ok(c.rt.call('del', call1), 'second DEL');
      ok(c.rt.call('del', call2), 'DEL pod2');
      assert.equal(p1.run(['ip', 'link', 'show', 'eth0']).code, 1, 'eth0 gone from the pod');
      // The reservation outlives the pod (static IP across restarts), unbound.
      const kept = await c.neutron.ports.get(reserved.id);
      assert.equal(kept.hostId, '');
      assert.equal(kept.fixedIps[0]?.ipAddress, '1.2.0.100');
      await assertNothingLeft(c, { neutron: [reserved.id] });

      // The pod restarts: same static IP again, then the reservation is released too.
      const id3 = cid();
      const again = ok(c.rt.call('add', { ...call1, id: id3 }), 'ADD after restart');
      assert.equal((again.ips as { address: string }[])[0]?.address, '1.2.0.100/16');
      ok(c.rt.call('del', { ...call1, id: id3 }), 'DEL after restart');
      await c.neutron.ports.ensureDeleted(reserved.id);
      await c.store.podConfigs.delete(ref);
      await assertNothingLeft(c);
    });

    test('ADD with a taken static IP fails with code 101 naming the holder and leaks nothing', async () => {
      const holderRef = { cluster: c.name, namespace: 'team-b', pod: 'holder' };
      const fixedIps = [{ subnetId: c.subnet.id, ip: '1.2.0.77' }];
      const holder = await reservePort(c.neutron, { pod: holderRef, networkId: c.network.id, fixedIps });
      try {
        const ref = { cluster: c.name, namespace: 'team-b', pod: 'late' };
        await c.store.podConfigs.create({
          ...ref,
          nics: [{ ifname: 'eth0', networkId: c.network.id, fixedIps }],
        });
        const p = pod();
        const call = { id: cid(), netns: p.path, args: podArgs('team-b', 'late') };
        const r = c.rt.call('add', call);
        assert.equal(r.code, 2, r.stdout);
        assert.equal(r.json?.code, 101);
        assert.match(String(r.json?.msg), /1\.2\.0\.77/);
        assert.match(String(r.json?.msg), /team-b\/holder/);
        assert.equal(p.run(['ip', 'link', 'show', 'eth0']).code, 1);
        await assertNothingLeft(c, { neutron: [holder.id] });
        ok(c.rt.call('del', call), 'DEL after a failed ADD');
        await c.store.podConfigs.delete(ref);
      } finally {
        await c.neutron.ports.ensureDeleted(holder.id);
      }
    });

    test('the runtime ips and mac capabilities give a pod without N-Net config that IP and MAC', async () => {
      const p = pod();
      const call = {
        id: cid(),
        netns: p.path,
        args: podArgs('default', 'multus'),
        ips: ['1.2.254.34/16'], // far from where Neutron allocates (the node ports take the first free IPs)
        mac: 'fa:16:3e:00:12:34',
      };
      const r = ok(c.rt.call('add', call), 'ADD');
      assert.equal((r.ips as { address: string }[])[0]?.address, '1.2.254.34/16');
      assert.equal((r.interfaces as { mac: string }[])[0]?.mac, 'fa:16:3e:00:12:34');
      ok(c.rt.call('del', call), 'DEL');
      await assertNothingLeft(c);
    });

    test('ADD for a cluster that is not registered fails with code 103 and leaks nothing', async () => {
      const p = pod();
      const r = c.rt.direct(
        { CNI_COMMAND: 'ADD', CNI_CONTAINERID: cid(), CNI_NETNS: p.path, CNI_IFNAME: 'eth0' },
        JSON.stringify({ ...c.rt.plugin, cluster: 'nntc-nobody' }),
      );
      assert.equal(r.code, 1, r.stdout);
      const err = JSON.parse(r.stdout);
      assert.equal(err.code, 103);
      assert.match(err.msg, /nntc-nobody/);
      await assertNothingLeft(c);
    });

    test('STATUS is 0 when Keystone, Neutron, the store and the bridge answer, and 50 naming the bridge when it is missing', () => {
      const good = c.rt.direct(
        { CNI_COMMAND: 'STATUS' },
        JSON.stringify({ ...c.rt.plugin, cniVersion: '1.1.0' }),
      );
      assert.equal(good.code, 0, good.stdout);
      assert.equal(good.stdout, '');
      const bad = c.rt.direct(
        { CNI_COMMAND: 'STATUS' },
        JSON.stringify({ ...c.rt.plugin, cniVersion: '1.1.0', bridge: 'br-nope' }),
      );
      assert.notEqual(bad.code, 0);
      const err = JSON.parse(bad.stdout);
      assert.equal(err.code, 50);
      assert.match(err.msg, /br-nope/);
    });

    test('GC releases every attachment of the node not in cni.dev/valid-attachments', async () => {
      const keep = pod();
      const drop = pod();
      const kc = { id: cid(), netns: keep.path, args: podArgs('gc', 'keep') };
      const dc = { id: cid(), netns: drop.path, args: podArgs('gc', 'drop') };
      ok(c.rt.call('add', kc), 'ADD keep');
      ok(c.rt.call('add', dc), 'ADD drop');
      const gc = c.rt.direct(
        { CNI_COMMAND: 'GC' },
        JSON.stringify({
          ...c.rt.plugin,
          cniVersion: '1.1.0',
          'cni.dev/valid-attachments': [{ containerID: kc.id, ifname: 'eth0' }],
        }),
      );
      assert.equal(gc.code, 0, gc.stdout);
      const rows = await c.store.attachments.list({ node: c.name });
      assert.deepEqual(
        rows.map((r) => r.containerId),
        [kc.id],
      );
      assert.equal(drop.run(['ip', 'link', 'show', 'eth0']).code, 1, 'the collected pod lost its NIC');
      assert.equal(keep.run(['ip', 'link', 'show', 'eth0']).code, 0, 'the valid pod kept its NIC');
      ok(c.rt.call('del', kc), 'DEL keep');
      await assertNothingLeft(c);
    });

    test('logs go to the configured file as JSON lines, never to stdout, and hold no secret', () => {
      const p = pod();
      const call = { id: cid(), netns: p.path, args: podArgs('default', 'logged') };
      const r = ok(c.rt.call('add', call), 'ADD');
      assert.ok(Array.isArray(r.ips), 'stdout is exactly the result');
      ok(c.rt.call('del', call), 'DEL');
      const text = readFileSync(c.rt.logFile, 'utf8');
      const lines = text.split('\n').filter(Boolean);
      assert.ok(lines.length > 0, 'the plugin logged');
      for (const l of lines) JSON.parse(l);
      const password = c.env.osEnv.OS_PASSWORD!;
      assert.ok(!text.includes(password), 'no password in the log');
      assert.ok(!/gAAAAA[\w-]{20}/.test(text), 'no Keystone token in the log');
    });
  });
}

suite('sqlite');
suite('etcd');

describe('nnet under load', () => {
  let c: TestCluster;
  const pods: TestNetns[] = [];
  before(async () => {
    c = await startTestCluster({ prefix: 'nntc', backend: 'sqlite' });
  });
  after(async () => {
    for (const p of pods) p.remove();
    await c?.stop();
  });

  test('20 pods added in parallel on one node get distinct IPs, all reachable, all deleted cleanly', async () => {
    const calls = Array.from({ length: 20 }, (_, i) => {
      const p = createNetns('nntc');
      pods.push(p);
      return { pod: p, call: { id: cid(), netns: p.path, args: podArgs('load', `p${i}`) } };
    });
    const results = await Promise.all(calls.map((x) => c.rt.callAsync('add', x.call)));
    const ips = results.map(
      (r, i) => (ok(r, `ADD p${i}`).ips as { address: string }[])[0]!.address.split('/')[0]!,
    );
    assert.equal(new Set(ips).size, 20, `distinct IPs: ${ips.join(' ')}`);
    const first = calls[0]!.pod;
    for (const ip of ips.slice(1)) await waitFor(`p0 to reach ${ip}`, () => pings(first, ip));
    const dels = await Promise.all(calls.map((x) => c.rt.callAsync('del', x.call)));
    for (const [i, r] of dels.entries()) ok(r, `DEL p${i}`);
    await assertNothingLeft(c);
  });
});
