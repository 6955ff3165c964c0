/**
 * Podnetworks belong to the Keystone project that made them. Against the real Keystone and
 * Neutron: the env's admin (project "admin") and a member user of a project of the test's own
 * (made here, removed in teardown) share one cluster and one store. Neither sees, changes or
 * deletes the other's podnetworks, and a Neutron 404 on the other project's port is never taken for
 * "already gone" (the reported finding: `delete podnetwork db -n team-b` by a user of another
 * project exited 0, removed the row and orphaned the port).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createSession, loadCredentials } from '../../src/identity/index.ts';
import { createNeutronClient, type NeutronClient, type Port } from '../../src/neutron/index.ts';
import { reservePort } from '../../src/resources/index.ts';
import { openStore, type PodNetworkConfig } from '../../src/store/index.ts';
import { ensureEnv, type TestEnv } from '../support/env.ts';
import { createMemberProject, type MemberProject } from '../support/keystone-project.ts';
import { createStandin } from '../support/kubectl-standin/index.ts';
import {
  bundleKubenetctl,
  failsWith,
  type Kubenetctl,
  kubenetctlRunner,
  userEnv,
} from '../support/kubenetctl.ts';

const PREFIX = `nntw-${randomBytes(3).toString('hex')}`;
const CLUSTER = `${PREFIX}-c`;
const NET_Q = `${PREFIX}-q`; // the admin project's network (1.2.0.0/16)
const NET_P = `${PREFIX}-p`; // the member project's network (10.77.0.0/24)
let env: TestEnv;
let work: string;
let bin: { path: string; remove(): void } | undefined;
let project: MemberProject | undefined;
let admin: NeutronClient;
let adminProjectId: string;
let storeUrl: string;
/** kubenetctl as the env's admin (project "admin": "project q" of the finding). */
let q: Kubenetctl;
/** kubenetctl as the member of the test's own project ("project p"). */
let p: Kubenetctl;

const BELONGS = /podnetwork "db" belongs to another project \(namespace team-b\)/;

async function row(pod: string, namespace = 'team-b'): Promise<PodNetworkConfig | undefined> {
  const store = await openStore(storeUrl);
  try {
    return await store.podConfigs.get({ cluster: CLUSTER, namespace, pod });
  } finally {
    await store.close();
  }
}

/** What the port is, as far as anyone could have changed it. */
const portState = (x: Port) => ({
  id: x.id,
  fixedIps: x.fixedIps,
  tags: [...x.tags].sort(),
  hostId: x.hostId,
  deviceId: x.deviceId,
  deviceOwner: x.deviceOwner,
  revision: x.revisionNumber,
});

before(async () => {
  env = ensureEnv();
  work = mkdtempSync(join(tmpdir(), `${PREFIX}-`));
  bin = await bundleKubenetctl(PREFIX);
  const adminSession = createSession(loadCredentials({ file: env.cloudsYaml, cloud: env.cloud, env: {} }), {
    cacheDir: join(work, 'admin-tokens'),
  });
  admin = createNeutronClient(adminSession);
  adminProjectId = (await adminSession.auth()).project!.id;
  project = await createMemberProject(env, `${PREFIX}-p`, work);
  storeUrl = `sqlite:${work}/nnet.db`;
  const base = { ...userEnv(env, work, storeUrl), KUBECTL: '/nonexistent/kubectl' };
  q = kubenetctlRunner(bin.path, { ...base, NNET_TOKEN_CACHE_DIR: join(work, 'q-tokens') }, work);
  p = kubenetctlRunner(
    bin.path,
    {
      ...base,
      OS_CLIENT_CONFIG_FILE: project.cloudsYaml,
      OS_CLOUD: project.cloud,
      NNET_TOKEN_CACHE_DIR: join(work, 'p-tokens'),
    },
    work,
  );
  q.ok(['create', 'cluster', CLUSTER]);
  q.ok(['create', 'network', NET_Q]);
  q.ok(['create', 'subnet', `${NET_Q}-a`, '--network', NET_Q, '--cidr', '1.2.0.0/16']);
  p.ok(['create', 'network', NET_P]);
  p.ok(['create', 'subnet', `${NET_P}-a`, '--network', NET_P, '--cidr', '10.77.0.0/24']);
});

after(async () => {
  try {
    if (admin) {
      for (const x of await admin.ports.list({ tags: [`nnet-cluster=${CLUSTER}`] }))
        await admin.ports.ensureDeleted(x.id);
      for (const name of [NET_Q, NET_P])
        for (const n of await admin.networks.list({ name })) {
          for (const x of await admin.ports.list({ networkId: n.id }))
            if (!x.deviceOwner.startsWith('network:')) await admin.ports.ensureDeleted(x.id);
          await admin.networks.ensureDeleted(n.id);
        }
    }
  } finally {
    await project?.remove();
    if (work) rmSync(work, { recursive: true, force: true });
    bin?.remove();
  }
});

test('delete podnetwork db -n team-b by a user of another project exits 1 and leaves the row and the port untouched; get, describe, create and delete pod are refused too', async (t) => {
  q.ok(['create', 'podnetwork', 'db', '-n', 'team-b', '--subnet', '1.2.0.0/16', '--ip', '1.2.0.10']);
  const before = await row('db');
  const portId = before!.nics[0]!.reservedPortId!;
  const portBefore = portState(await admin.ports.get(portId));

  failsWith(p.run(['delete', 'podnetwork', 'db', '-n', 'team-b']), BELONGS);
  assert.deepEqual(await row('db'), before, 'the row is untouched');
  assert.deepEqual(portState(await admin.ports.get(portId)), portBefore, 'the port is untouched');
  assert.equal(before?.projectId, adminProjectId, 'the row records the project that made it');
  failsWith(p.run(['delete', 'podnetwork', 'db', '-n', 'team-b', '--force']), BELONGS);
  failsWith(p.run(['get', 'podnetwork', 'db', '-n', 'team-b']), BELONGS);
  failsWith(p.run(['describe', 'podnetwork', 'db', '-n', 'team-b']), BELONGS);
  failsWith(p.run(['create', 'podnetwork', 'db', '-n', 'team-b', '--subnet', `${NET_P}-a`]), BELONGS);
  failsWith(
    p.run(['create', 'podnetwork', 'db', '-n', 'team-b', '--subnet', '1.2.0.0/16', '--ip', '1.2.0.10']),
    BELONGS,
  );
  // The pod flow: kubectl (the stand-in) deletes the pod; N-Net's release of it is refused.
  const standin = createStandin();
  t.after(() => standin.cleanup());
  const deleted = p.run(['delete', 'pod', 'db', '-n', 'team-b'], { env: standin.env });
  assert.equal(deleted.status, 1, deleted.stderr);
  assert.match(
    deleted.stderr,
    /pod team-b\/db was deleted, but its N-Net reservation was not released: .*belongs to another project/,
  );
  // Listing shows nothing of it, as kubectl lists only what one may see.
  const listed = p.ok(['get', 'podnetworks', '-n', 'team-b']);
  assert.equal(listed.stdout, '');
  assert.equal(listed.stderr, 'No resources found in team-b namespace.\n');
  assert.equal(p.ok(['get', 'podnetworks', '-A', '-o', 'name']).stdout, '');

  assert.deepEqual(await row('db'), before, 'the row is untouched');
  assert.deepEqual(portState(await admin.ports.get(portId)), portBefore, 'the port is untouched');
  assert.equal(q.ok(['delete', 'podnetwork', 'db', '-n', 'team-b']).stdout, 'podnetwork "db" deleted\n');
  assert.equal(await row('db'), undefined);
  await assert.rejects(admin.ports.get(portId), /not found|404/i);
});

test("each project lists only its own podnetworks, and cannot delete the other's; the owner can", async () => {
  q.ok(['create', 'podnetwork', 'api', '-n', 'team-b', '--subnet', '1.2.0.0/16']);
  p.ok(['create', 'podnetwork', 'web', '-n', 'team-b', '--subnet', '10.77.0.0/24', '--ip', '10.77.0.20']);
  assert.equal(p.ok(['get', 'podnetworks', '-n', 'team-b', '-o', 'name']).stdout, 'podnetwork/web\n');
  assert.equal(q.ok(['get', 'podnetworks', '-n', 'team-b', '-o', 'name']).stdout, 'podnetwork/api\n');
  assert.equal(p.ok(['get', 'podnetworks', '-A', '-o', 'name']).stdout, 'podnetwork/web\n');
  const web = p.ok(['get', 'podnetwork', 'web', '-n', 'team-b', '-o', 'json']).json();
  assert.equal((web.spec as { projectId: string }).projectId, project!.projectId);
  assert.equal((web.status as { ips: string[] }).ips[0], '10.77.0.20');

  failsWith(
    q.run(['delete', 'podnetwork', 'web', '-n', 'team-b']),
    /podnetwork "web" belongs to another project/,
  );
  // Several names: the other project's is reported, the own one is still deleted (as kubectl does).
  const both = q.run(['delete', 'podnetwork', 'web', 'api', '-n', 'team-b']);
  assert.equal(both.status, 1);
  assert.equal(both.stdout, 'podnetwork "api" deleted\n');
  assert.match(both.stderr, /^error: podnetwork "web" belongs to another project/);
  assert.ok(await row('web'), "the other project's row is kept");
  assert.equal(await row('api'), undefined);

  assert.equal(p.ok(['delete', 'podnetwork', 'web', '-n', 'team-b']).stdout, 'podnetwork "web" deleted\n');
  assert.equal(await row('web'), undefined);
  assert.deepEqual(await admin.ports.list({ tags: [`nnet-cluster=${CLUSTER}`] }), []);
});

test("the owner's own port gone from Neutron: delete podnetwork removes the row (gone, not hidden)", async () => {
  q.ok(['create', 'podnetwork', 'gone', '-n', 'team-c', '--subnet', '1.2.0.0/16']);
  const config = await row('gone', 'team-c');
  await admin.ports.delete(config!.nics[0]!.reservedPortId!);
  assert.equal(q.ok(['delete', 'podnetwork', 'gone', '-n', 'team-c']).stdout, 'podnetwork "gone" deleted\n');
  assert.equal(await row('gone', 'team-c'), undefined);
});

test("a row recorded before projects were kept belongs to its port's project: hidden from and refused to the others", async () => {
  const [subnet] = await admin.subnets.list({ name: `${NET_Q}-a` });
  const key = { cluster: CLUSTER, namespace: 'team-d', pod: 'old' };
  const port = await reservePort(admin, {
    pod: key,
    networkId: subnet!.networkId,
    fixedIps: [{ subnetId: subnet!.id }],
  });
  const store = await openStore(storeUrl);
  try {
    await store.podConfigs.create({
      ...key,
      nics: [
        {
          ifname: 'eth0',
          networkId: subnet!.networkId,
          fixedIps: [{ subnetId: subnet!.id }],
          reservedPortId: port.id,
        },
      ],
    });
  } finally {
    await store.close();
  }
  assert.equal(p.ok(['get', 'podnetworks', '-n', 'team-d', '-o', 'name']).stdout, '');
  failsWith(
    p.run(['delete', 'podnetwork', 'old', '-n', 'team-d']),
    /podnetwork "old" belongs to another project .*recorded before N-Net kept podnetworks' projects/,
  );
  assert.ok(await row('old', 'team-d'));
  assert.equal((await admin.ports.get(port.id)).id, port.id);
  assert.equal(q.ok(['get', 'podnetworks', '-n', 'team-d', '-o', 'name']).stdout, 'podnetwork/old\n');
  assert.equal(q.ok(['delete', 'podnetwork', 'old', '-n', 'team-d']).stdout, 'podnetwork "old" deleted\n');
  await assert.rejects(admin.ports.get(port.id), /not found|404/i);
});

test("a row naming a port that is not the pod's reservation is refused, and the port is not deleted", async (t) => {
  const [subnet] = await admin.subnets.list({ name: `${NET_Q}-a` });
  // Someone else's port (say a VM's) in the same project, named by a forged or mistaken row.
  const vm = await admin.ports.create({
    networkId: subnet!.networkId,
    name: `${PREFIX}-vm`,
    deviceOwner: 'compute:nova',
    fixedIps: [{ subnetId: subnet!.id }],
  });
  t.after(() => admin.ports.ensureDeleted(vm.id));
  const store = await openStore(storeUrl);
  try {
    await store.podConfigs.create({
      cluster: CLUSTER,
      namespace: 'team-e',
      pod: 'forged',
      projectId: adminProjectId,
      nics: [
        {
          ifname: 'eth0',
          networkId: subnet!.networkId,
          fixedIps: [{ subnetId: subnet!.id }],
          reservedPortId: vm.id,
        },
      ],
    });
  } finally {
    await store.close();
  }
  failsWith(
    q.run(['delete', 'podnetwork', 'forged', '-n', 'team-e', '--force']),
    new RegExp(`refusing to delete port ${vm.id}: it is not the reservation of pod team-e/forged`),
  );
  assert.equal((await admin.ports.get(vm.id)).deviceOwner, 'compute:nova');
  assert.ok(await row('forged', 'team-e'));
  const s2 = await openStore(storeUrl);
  try {
    await s2.podConfigs.delete({ cluster: CLUSTER, namespace: 'team-e', pod: 'forged' });
  } finally {
    await s2.close();
  }
});
