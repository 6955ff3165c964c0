/**
 * The image (npm run image) run with podman (scripts/podman.sh), exactly as deploy/k8s/nnet.yaml
 * runs it: the init container's command, arguments, environment, mounts and security settings
 * are read from the manifest, and each of its volumes is a temporary directory standing for the
 * host's (or for the ConfigMap and the Secret). libcni (test/harness) validates what it installs.
 * Containers are named nnt-img-…, run without a network, and are removed after each test.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments, parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import pkg from '../../package.json' with { type: 'json' };
import { runPlugin } from '../../src/cni/index.ts';
import { silentLogger } from '../../src/log/index.ts';
import { agentMetric } from '../support/agent.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { type CniRuntime, cniRuntime, type HarnessCall } from '../support/cni.ts';
import { PROJECT_ROOT } from '../support/env.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';

// biome-ignore lint/suspicious/noExplicitAny: parsed Kubernetes YAML, which the assertions check
type Obj = Record<string, any>;
const PREFIX = `nnt-img-${randomBytes(3).toString('hex')}`;
const IMAGE = `localhost/nnet:${pkg.version}`;
const PODMAN = join(PROJECT_ROOT, 'scripts/podman.sh');
const HARNESS = join(PROJECT_ROOT, 'test/harness/bin/nnet-cni-harness');
const NODE = 'nnt-node1';

const manifest = parseAllDocuments(readFileSync(join(PROJECT_ROOT, 'deploy/k8s/nnet.yaml'), 'utf8')).map(
  (d) => d.toJS() as Obj,
);
const configMap = manifest.find((d) => d.kind === 'ConfigMap')!;
const podSpec = manifest.find((d) => d.kind === 'DaemonSet')!.spec.template.spec as Obj;
const INIT = podSpec.initContainers.find((c: Obj) => c.name === 'install-cni') as Obj;
const AGENT = podSpec.containers.find((c: Obj) => c.name === 'nnet-agent') as Obj;
const TEMPLATE_KEY = Object.keys(configMap.data)[0]!;

let work: string;
const containers: string[] = [];

function podman(args: string[], timeout = 120_000): SpawnSyncReturns<string> {
  return spawnSync('bash', [PODMAN, ...args], { encoding: 'utf8', timeout });
}

before(() => {
  // Cached: only the app layer is rebuilt (and loaded when it changed). dist/ is the suite's build.
  const built = spawnSync('bash', [join(PROJECT_ROOT, 'scripts/image/build.sh'), '--no-build'], {
    encoding: 'utf8',
    timeout: 60 * 60_000,
  });
  assert.equal(built.status, 0, `npm run image failed:\n${built.stdout}\n${built.stderr}`);
  const harness = spawnSync('bash', [join(PROJECT_ROOT, 'test/harness/build.sh')], { encoding: 'utf8' });
  assert.equal(harness.status, 0, harness.stderr);
  work = mkdtempSync(join(tmpdir(), `${PREFIX}-`));
});

after(() => {
  for (const name of containers) podman(['rm', '-f', '-t', '0', name]);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A node's directories, the ConfigMap's and the Secret's, as the pod's volumes will see them. */
interface Volumes {
  'cni-bin': string;
  'cni-conf': string;
  config: string;
  credentials: string;
}
interface Node {
  root: string;
  /** spec.nodeName, as the DaemonSet passes it to install-cni. */
  name: string;
  volumes: Volumes;
  cniBin: string;
  cniConf: string;
}

let nodes = 0;
function newNode(template = configMap.data[TEMPLATE_KEY] as string, name = NODE): Node {
  const root = join(work, `node${++nodes}`);
  const dirs: Volumes = {
    'cni-bin': join(root, 'host/opt/cni/bin'),
    'cni-conf': join(root, 'host/etc/cni/net.d'),
    config: join(root, 'configmap'),
    credentials: join(root, 'secret'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  writeFileSync(join(dirs.config, TEMPLATE_KEY), template);
  writeFileSync(
    join(dirs.credentials, 'clouds.yaml'),
    'clouds:\n  nnet:\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      application_credential_id: nnt-id\n      application_credential_secret: nnt-not-a-secret\n    auth_type: v3applicationcredential\n',
    { mode: 0o600 },
  );
  return {
    root,
    name,
    volumes: dirs,
    cniBin: dirs['cni-bin'],
    cniConf: dirs['cni-conf'],
  };
}

/** podman run flags for container `c` of the manifest, its volumes mapped to `volumes`. */
function runFlags(
  c: Obj,
  volumes: Partial<Record<string, string>>,
  env: Record<string, string>,
  network = 'none',
): string[] {
  const flags = ['--network', network];
  for (const m of c.volumeMounts as Obj[]) {
    const dir = volumes[m.name];
    const opts = [
      ...(m.readOnly ? ['ro'] : []),
      ...(m.mountPropagation === 'HostToContainer' ? ['rslave'] : []),
    ];
    if (dir) flags.push('-v', `${dir}:${m.mountPath}${opts.length ? `:${opts.join(',')}` : ''}`);
  }
  for (const [k, v] of Object.entries(env)) flags.push('-e', `${k}=${v}`);
  const sc = (c.securityContext ?? {}) as Obj;
  if (sc.privileged) flags.push('--privileged');
  if (sc.readOnlyRootFilesystem) flags.push('--read-only');
  if (sc.runAsUser !== undefined) flags.push('--user', String(sc.runAsUser));
  if (sc.allowPrivilegeEscalation === false) flags.push('--security-opt', 'no-new-privileges');
  for (const cap of sc.capabilities?.drop ?? []) flags.push('--cap-drop', cap);
  return flags;
}

const initFlags = (n: Node) => runFlags(INIT, { ...n.volumes }, { NODE_NAME: n.name });

function installCni(
  n: Node,
  extra: string[] = [],
  mounts: string[] = [],
  image = IMAGE,
): SpawnSyncReturns<string> {
  const name = `${PREFIX}-${containers.length}`;
  containers.push(name);
  return podman([
    'run',
    '--rm',
    '--name',
    name,
    ...initFlags(n),
    ...mounts,
    image,
    ...INIT.command,
    ...INIT.args,
    ...extra,
  ]);
}

/** Bytes, inode, mtime and mode of every file under `dir` (the names in order). */
function snapshot(dir: string): Record<string, { bytes: string; ino: bigint; mtime: bigint; mode: number }> {
  const out: Record<string, { bytes: string; ino: bigint; mtime: bigint; mode: number }> = {};
  for (const name of readdirSync(dir).sort()) {
    const st = statSync(join(dir, name), { bigint: true });
    if (st.isFile())
      out[name] = {
        bytes: readFileSync(join(dir, name)).toString('base64'),
        ino: st.ino,
        mtime: st.mtimeNs,
        mode: Number(st.mode) & 0o7777,
      };
  }
  return out;
}
const snapshotAll = (n: Node) => ({
  bin: snapshot(n.cniBin),
  conf: snapshot(n.cniConf),
});

function validate(n: Node): SpawnSyncReturns<string> {
  return spawnSync(
    HARNESS,
    ['-confdir', n.cniConf, '-bindir', n.cniBin, '-cachedir', join(n.root, 'cache'), 'validate'],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
}

const imageFile = (path: string) => imageFileOf(IMAGE, path);

function imageFileOf(image: string, path: string): Buffer {
  const r = spawnSync('bash', [PODMAN, 'run', '--rm', '--network', 'none', image, 'cat', path], {
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, r.stderr?.toString());
  return r.stdout;
}

test('install-cni installs nnet and a conflist libcni validates, and no credentials; a second run changes nothing', () => {
  const n = newNode();
  const first = installCni(n);
  assert.equal(first.status, 0, first.stderr);
  assert.deepEqual(first.stdout.trim().split('\n'), [
    'installed /host/opt/cni/bin/nnet',
    `installed /host/etc/cni/net.d/${TEMPLATE_KEY}`,
  ]);
  assert.ok(
    readFileSync(join(n.cniBin, 'nnet')).equals(imageFile('/opt/nnet/dist/nnet')),
    'the image’s plugin',
  );
  assert.equal(statSync(join(n.cniBin, 'nnet')).mode & 0o7777, 0o755);
  const conflist = JSON.parse(readFileSync(join(n.cniConf, TEMPLATE_KEY), 'utf8'));
  assert.equal(conflist.plugins[0].nodeName, NODE);
  assert.equal(conflist.plugins[0].agentSocket, '/run/nnet/cni.sock');

  const valid = validate(n);
  assert.equal(valid.status, 0, `libcni ValidateNetworkList: ${valid.stdout}${valid.stderr}`);
  assert.deepEqual(JSON.parse(valid.stdout).capabilities.sort(), ['ips', 'mac']);

  const before = snapshotAll(n);
  const second = installCni(n);
  assert.equal(second.status, 0, second.stderr);
  assert.deepEqual(second.stdout.trim().split('\n'), [
    'unchanged /host/opt/cni/bin/nnet',
    `unchanged /host/etc/cni/net.d/${TEMPLATE_KEY}`,
  ]);
  assert.deepEqual(snapshotAll(n), before, 'same bytes, inodes, mtimes and modes');
});

test('install-cni killed while copying the plugin leaves the old plugin and conflist intact', async (t) => {
  const n = newNode();
  assert.equal(installCni(n).status, 0);
  const before = snapshotAll(n);

  // v2: a new plugin (streamed through a FIFO, so the copy is midway when the test says) and a
  // changed template; SIGKILL lands while the temporary copy is half written.
  const src = join(n.root, 'v2');
  mkdirSync(src);
  assert.equal(spawnSync('mkfifo', [join(src, 'nnet.fifo')]).status, 0);
  // v2 is the plugin with bytes after its end (an ELF runs with them), large enough that the copy
  // can be caught with half of it written.
  const plugin = readFileSync(join(n.cniBin, 'nnet'));
  const v2 = Buffer.concat([plugin, Buffer.alloc(512 * 1024, 'v2')]);
  const tpl = JSON.parse(configMap.data[TEMPLATE_KEY]);
  tpl.plugins[0].logLevel = 'debug';
  writeFileSync(join(n.volumes.config, TEMPLATE_KEY), JSON.stringify(tpl));
  const name = `${PREFIX}-${containers.length}`;
  containers.push(name);
  const child = spawn(
    'bash',
    [
      PODMAN,
      'run',
      '--name',
      name,
      ...initFlags(n),
      '-v',
      `${src}:/v2:ro`,
      IMAGE,
      ...INIT.command,
      ...INIT.args,
      '--plugin=/v2/nnet.fifo',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.after(() => child.kill('SIGKILL'));
  const fifo = await open(join(src, 'nnet.fifo'), 'w'); // returns once install-cni opened it
  const half = 256 * 1024;
  await fifo.write(v2.subarray(0, half));
  const tmp = await waitFor(() => {
    const leftover = readdirSync(n.cniBin).find((f) => /^\.nnet\.nnet-install-\d+\.tmp$/.test(f));
    return leftover && statSync(join(n.cniBin, leftover)).size >= half / 2 ? leftover : undefined;
  });
  assert.equal(podman(['kill', '-s', 'KILL', name]).status, 0);
  assert.equal(await exited, 137, 'killed by SIGKILL');
  await fifo.close().catch(() => undefined);

  const now = snapshotAll(n);
  assert.deepEqual({ ...now, bin: { nnet: now.bin.nnet } }, before, 'nnet and the conflist are as they were');
  assert.deepEqual(Object.keys(now.bin).sort(), [tmp, 'nnet'].sort(), 'only the temporary copy is new');

  // The next run cleans up and installs v2's conflist; the plugin is unchanged.
  const again = installCni(n);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(again.stdout.trim().split('\n'), [
    `removed leftover /host/opt/cni/bin/${tmp}`,
    'unchanged /host/opt/cni/bin/nnet',
    `installed /host/etc/cni/net.d/${TEMPLATE_KEY}`,
  ]);
  assert.deepEqual(readdirSync(n.cniBin), ['nnet']);
  assert.equal(JSON.parse(readFileSync(join(n.cniConf, TEMPLATE_KEY), 'utf8')).plugins[0].logLevel, 'debug');
});

test('a bad ConfigMap template: install-cni exits non-zero with the plugin’s code-7 text and writes nothing', async () => {
  const n = newNode();
  assert.equal(installCni(n).status, 0);
  const before = snapshotAll(n);
  const bad = JSON.parse(configMap.data[TEMPLATE_KEY]);
  bad.plugins[0].plugDriver = 'veth';
  writeFileSync(join(n.volumes.config, TEMPLATE_KEY), JSON.stringify(bad));

  // What the plugin itself answers to that config at ADD (as libcni hands it: name and cniVersion
  // in): the entry nnet-agent runs for every request the thin plugin forwards.
  let out = '';
  await runPlugin({
    stdin: JSON.stringify({ ...bad.plugins[0], name: bad.name, cniVersion: bad.cniVersion }),
    env: {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'nnt-c',
      CNI_NETNS: '/run/netns/nnt-none',
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/opt/cni/bin',
    },
    verbs: () => Promise.reject(new Error('a refused config runs no verb')),
    stdout: { write: (t: string) => (out += t) },
    openLog: () => silentLogger,
  });
  const answer = JSON.parse(out) as { code: number; msg: string };
  assert.equal(answer.code, 7);

  const r = installCni(n);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    `nnet-install-cni: invalid conflist template /etc/nnet/config/${TEMPLATE_KEY} (CNI error code 7): ${answer.msg}\n`,
  );
  assert.deepEqual(snapshotAll(n), before, 'nothing written, nothing left behind');

  const empty = newNode(JSON.stringify(bad));
  assert.equal(installCni(empty).status, 2);
  assert.deepEqual(snapshotAll(empty), { bin: {}, conf: {} }, 'a fresh node gets nothing');
});

test('without the credentials Secret the agent exits non-zero, naming the file it needs', () => {
  const n = newNode();
  assert.equal(installCni(n).status, 0);
  const name = `${PREFIX}-${containers.length}`;
  containers.push(name);
  // The pod as the manifest has it, less the Secret (and the host's OVS, netns and state dirs:
  // the agent must stop before it needs them).
  const r = podman([
    'run',
    '--rm',
    '--name',
    name,
    ...runFlags(AGENT, { 'cni-conf': n.cniConf }, {}),
    IMAGE,
    ...AGENT.command,
    ...AGENT.args.map((a: string) => a.replace('$(NODE_IP)', '127.0.0.1')),
  ]);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /the credentials file \/etc\/nnet\/credentials\/clouds.yaml that the CNI config \/etc\/cni\/net.d\/10-nnet.conflist references does not exist/,
  );
  assert.doesNotMatch(r.stderr, /nnt-not-a-secret/);
});

async function waitFor<T>(probe: () => T | undefined, deadlineMs = 300_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(50);
  }
}

// ---- The DaemonSet's pod on a real node: the agent container on the host network, and upgrades.

/**
 * The ConfigMap's template for a test node: the manifest's plugin entry with this cluster, its
 * store, its node's OVSDB socket and netns, and the container paths the manifest's mounts give.
 */
function nodeTemplate(c: TestCluster): string {
  const template = JSON.parse(configMap.data[TEMPLATE_KEY] as string) as Obj;
  const shipped = template.plugins[0] as Obj;
  template.plugins[0] = {
    ...shipped,
    cluster: c.name,
    store: c.storeUrl,
    ovsdbSocket: `unix:/run/openvswitch/${basename(c.node.ovsdbSocket)}`,
    ovsNetns: c.node.netnsPath,
    datapathType: 'netdev',
    credentials: { ...shipped.credentials, cloud: c.env.memberCloud },
    tokenCacheDir: '/var/lib/nnet/tokens',
    logFile: '/var/log/nnet/nnet.log',
    timeouts: c.rt.plugin.timeouts,
  };
  return JSON.stringify(template, null, 2);
}

/** The Secret: a 0600 clouds.yaml holding only the cluster's least-privilege cloud. */
function writeSecret(c: TestCluster, n: Node): void {
  const all = parseYaml(readFileSync(c.env.cloudsYaml, 'utf8')) as { clouds: Record<string, unknown> };
  const cloud = c.env.memberCloud;
  writeFileSync(
    join(n.volumes.credentials, 'clouds.yaml'),
    stringifyYaml({ clouds: { [cloud]: all.clouds[cloud] } }),
    { mode: 0o600 },
  );
}

interface AgentContainer {
  name: string;
  metricsUrl: string;
  /** podman stop (SIGTERM, then the pod's grace period), then rm: the DaemonSet replacing the pod. */
  stop(): void;
  logs(): string;
}

/**
 * The DaemonSet's nnet-agent container, as the manifest has it (command, arguments, mounts,
 * privileged, the host network), serving this node's socket. Metrics go to 127.0.0.1 on a free port
 * (the manifest's $(NODE_IP):9477 would clash between test nodes on one host).
 */
async function startAgentContainer(c: TestCluster, n: Node, image: string): Promise<AgentContainer> {
  const name = `${PREFIX}-${containers.length}`;
  containers.push(name);
  const volumes = {
    ...n.volumes,
    netns: '/run/netns',
    openvswitch: dirname(c.node.ovsdbSocket),
    'nnet-state': join(n.root, 'host/var/lib/nnet'),
    'nnet-log': join(n.root, 'host/var/log/nnet'),
    'nnet-run': dirname(c.agent.socket),
  };
  for (const d of [volumes['nnet-state'], volumes['nnet-log']]) mkdirSync(d, { recursive: true });
  const args = (AGENT.args as string[]).map((a) =>
    a.startsWith('--metrics-listen=') ? '--metrics-listen=127.0.0.1:0' : a,
  );
  const r = podman([
    'run',
    '-d',
    '--name',
    name,
    ...runFlags(AGENT, volumes, {}, 'host'),
    image,
    ...AGENT.command,
    ...args,
  ]);
  assert.equal(r.status, 0, `podman run ${name}: ${r.stderr}`);
  const logs = () => {
    const l = podman(['logs', name]);
    return `${l.stdout}${l.stderr}`;
  };
  const lines = () =>
    logs()
      .split('\n')
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Obj];
        } catch {
          return [];
        }
      });
  const ready = await waitFor(() => {
    const l = lines();
    if (l.some((x) => x.msg === 'serving CNI') && l.some((x) => x.msg === 'start-up reconcile done'))
      return l.find((x) => x.msg === 'serving metrics')?.url as string | undefined;
    const state = podman(['inspect', '-f', '{{.State.Running}}', name]).stdout.trim();
    if (state !== 'true') throw new Error(`the agent container ${name} exited:\n${logs()}`);
    return undefined;
  }, 180_000).catch((e: unknown) => {
    throw new Error(`the agent container did not come up: ${e}\n${logs().slice(-3000)}`);
  });
  return {
    name,
    metricsUrl: ready,
    stop: () => {
      podman(['stop', '-t', String(podSpec.terminationGracePeriodSeconds), name]);
      podman(['rm', '-f', name]);
    },
    logs,
  };
}

const metric = async (a: AgentContainer, series: string) => (await agentMetric(a, series)) ?? 0;

interface NodePods {
  rt: CniRuntime;
  pods: { netns: TestNetns; ip: string; call: HarnessCall }[];
}

/**
 * The node's runtime: libcni running the nnet that install-cni put in the node's /opt/cni/bin, with
 * the conflist it wrote, except the agent's socket, which is the host side of the nnet-run mount
 * (on a real node both are /run/nnet/cni.sock).
 */
function nodeRuntime(c: TestCluster, n: Node, t: { after(fn: () => unknown): void }): CniRuntime {
  const installed = JSON.parse(readFileSync(join(n.cniConf, '10-nnet.conflist'), 'utf8')) as Obj;
  const rt = cniRuntime({
    prefix: `${c.name}-k`,
    binary: join(n.cniBin, 'nnet'),
    plugin: { ...installed.plugins[0], agentSocket: c.agent.socket },
  });
  t.after(() => rt.remove());
  return rt;
}

function addPods(
  c: TestCluster,
  rt: CniRuntime,
  count: number,
  t: { after(fn: () => unknown): void },
): NodePods['pods'] {
  const out: NodePods['pods'] = [];
  for (let i = 0; i < count; i++) {
    const netns = createNetns('nntimg');
    const call = {
      id: randomBytes(16).toString('hex'),
      netns: netns.path,
      args: {
        K8S_POD_NAMESPACE: 'default',
        K8S_POD_NAME: `${c.name}-pod${i}-${randomBytes(2).toString('hex')}`,
      },
    };
    t.after(() => {
      rt.call('del', call);
      netns.remove();
    });
    const r = rt.call('add', call);
    assert.equal(r.code, 0, `ADD: ${r.stdout} ${r.stderr}`);
    const ips = r.json?.ips as Obj[] | undefined;
    const ip = String(ips?.[0]?.address).split('/')[0]!;
    out.push({ netns, ip, call });
  }
  return out;
}

const pings = (from: TestNetns, ip: string) =>
  from.run(['ping', '-c', '1', '-W', '1', ip], { timeoutMs: 5000 }).code === 0;
const ifindex = (p: { netns: TestNetns }) => p.netns.exec(['cat', '/sys/class/net/eth0/ifindex']).trim();
/** br-int's ports, less ovn-controller's tunnels (ovn-*), which come and go with other tests' chassis. */
const brIntPorts = (c: TestCluster) =>
  c.node
    .exec(['ovs-vsctl', `--db=unix:${c.node.ovsdbSocket}`, 'list-ports', 'br-int'])
    .stdout.split('\n')
    .filter((p) => p && !p.startsWith('ovn-'))
    .join('\n');

async function nodeWithAgentContainer(t: { after(fn: () => unknown): void }) {
  const c = await startTestCluster({ prefix: 'nntimg', backend: 'etcd' });
  t.after(() => c.stop());
  // The DaemonSet's agent takes the node over: the fixture's own agent goes first.
  await c.agent.stop();
  const n = newNode(nodeTemplate(c), c.name);
  writeSecret(c, n);
  return { c, n };
}

test('the agent container, on the host network as the DaemonSet runs it, serves the node’s pods and re-plugs them after ovs-vswitchd restarts', async (t) => {
  const { c, n } = await nodeWithAgentContainer(t);
  assert.equal(installCni(n).status, 0);
  const agent = await startAgentContainer(c, n, IMAGE);
  t.after(() => agent.stop());
  const rt = nodeRuntime(c, n, t);
  const portsBefore = brIntPorts(c);
  const [a, b] = addPods(c, rt, 2, t) as [NodePods['pods'][0], NodePods['pods'][0]];
  await waitFor(() => (pings(a.netns, b.ip) && pings(b.netns, a.ip)) || undefined, 120_000);
  const replugs = await metric(agent, 'nnet_replugs_total');

  await c.node.restartVswitchd();
  const t0 = Date.now();
  await waitFor(() => (pings(a.netns, b.ip) && pings(b.netns, a.ip)) || undefined, 120_000).catch((e) => {
    throw new Error(`the pods did not ping again after the restart: ${e}\n${agent.logs().slice(-3000)}`);
  });
  console.log(`image: the agent container's pods pinged again ${Date.now() - t0} ms after the restart`);
  assert.ok((await metric(agent, 'nnet_replugs_total')) >= replugs + 2, 'the container re-plugged both pods');
  assert.equal(rt.call('check', a.call).code, 0, 'CHECK after the re-plug');

  for (const p of [a, b]) assert.equal(rt.call('del', p.call).code, 0, 'DEL');
  assert.equal(brIntPorts(c), portsBefore, 'DEL through the container left no pod port on br-int');
});

/** v2 of the image: v1 with the plugin binary changed (bytes appended after the ELF's end: it runs the same). */
function imageV2(): string {
  const tag = `localhost/nnet:${PREFIX}-v2`;
  const name = `${PREFIX}-${containers.length}`;
  containers.push(name);
  const r = podman([
    'run',
    '--name',
    name,
    '--network',
    'none',
    IMAGE,
    'sh',
    '-c',
    `printf '\\n%s\\n' '${PREFIX} v2' >> /opt/nnet/dist/nnet`,
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(podman(['commit', '-q', name, tag]).status, 0);
  podman(['rm', '-f', name]);
  return tag;
}

type NodePod = NodePods['pods'][0];

/** A node with the DaemonSet's pod (v1) running and two pods pinging each other. */
async function runningNode(t: { after(fn: () => unknown): void }) {
  const { c, n } = await nodeWithAgentContainer(t);
  assert.equal(installCni(n).status, 0, 'install v1');
  const agent = { current: await startAgentContainer(c, n, IMAGE) };
  t.after(() => agent.current.stop());
  const rt = nodeRuntime(c, n, t);
  const [a, b] = addPods(c, rt, 2, t) as [NodePod, NodePod];
  await waitFor(() => (pings(a.netns, b.ip) && pings(b.netns, a.ip)) || undefined, 120_000);
  return { c, n, agent, rt, a, b };
}

/**
 * The DaemonSet replacing the node's pod (`rollout`: install-cni of the new pod, the old agent
 * stopped, the new one started) while a pings b every 100 ms; then the pods must have kept their
 * traffic, their NICs and their ports, and the new agent must have re-plugged nothing.
 */
async function rollOut(
  what: string,
  node: Awaited<ReturnType<typeof runningNode>>,
  t: { after(fn: () => unknown): void },
  rollout: () => Promise<AgentContainer>,
): Promise<void> {
  const { c, a, b } = node;
  const before = { a: ifindex(a), b: ifindex(b), ports: brIntPorts(c) };
  const pinger = a.netns.spawn(['ping', '-i', '0.1', '-W', '1', b.ip]);
  let out = '';
  pinger.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const stopped = new Promise<void>((r) => pinger.on('exit', () => r()));
  t.after(() => pinger.kill('SIGKILL'));
  await sleep(2000);
  node.agent.current = await rollout();
  await sleep(2000);
  pinger.kill('SIGINT');
  await stopped;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  console.log(`image: ${what}: ping a → b every 100 ms: ${m?.[0] ?? out.slice(-300)}`);
  assert.ok(m, out);
  const [sent, received] = [Number(m[1]), Number(m[2])];
  assert.ok(
    received >= sent * 0.98,
    `the pods kept passing traffic through the ${what} (${received}/${sent})`,
  );
  assert.equal(await metric(node.agent.current, 'nnet_replugs_total'), 0, 'the new agent re-plugged nothing');
  assert.deepEqual(
    { a: ifindex(a), b: ifindex(b), ports: brIntPorts(c) },
    before,
    'the same NICs, the same ports on br-int',
  );
}

test('an upgrade (install v1, start pods, install v2): the plugin is replaced, the new agent re-plugs nothing, and the pods keep passing traffic', async (t) => {
  const node = await runningNode(t);
  const { c, n, a } = node;
  const v2 = imageV2();
  t.after(() => podman(['rmi', '-f', v2]));
  await rollOut('upgrade', node, t, async () => {
    const conf = snapshot(n.cniConf);
    const v1Plugin = readFileSync(join(n.cniBin, 'nnet'));
    node.agent.current.stop();
    assert.equal(installCni(n, [], [], v2).status, 0, 'install v2');
    const installed = readFileSync(join(n.cniBin, 'nnet'));
    assert.notDeepEqual(installed, v1Plugin, 'the plugin on the node is v2’s');
    assert.deepEqual(installed, imageFileOf(v2, '/opt/nnet/dist/nnet'), 'byte for byte');
    assert.deepEqual(snapshot(n.cniConf), conf, 'the unchanged conflist is not touched');
    return startAgentContainer(c, n, v2);
  });
  // And the v2 plugin and agent serve new pods, and the v1 pods (the runtime's cached results).
  const { rt } = node;
  const [p3] = addPods(c, rt, 1, t) as [NodePod];
  await waitFor(() => pings(p3.netns, a.ip) || undefined, 120_000);
  assert.equal(rt.call('check', a.call).code, 0, 'CHECK of a v1 pod through v2');
});

test('a ConfigMap change reaches the node with the next pod of the DaemonSet: new pods get it, running pods are not touched', async (t) => {
  const node = await runningNode(t);
  const { c, n, a } = node;
  const routes = (p: NodePod) => p.netns.exec(['ip', 'route', 'show']);
  assert.match(routes(a), /^10\.96\.0\.0\/12 via /m, 'the shipped serviceCidr');
  // The operator edits the ConfigMap (kubelet updates the mounted file) and restarts the DaemonSet.
  const edited = JSON.parse(nodeTemplate(c)) as Obj;
  edited.plugins[0].serviceCidr = '10.100.0.0/16';
  writeFileSync(join(n.volumes.config, TEMPLATE_KEY), JSON.stringify(edited, null, 2));
  await rollOut('ConfigMap change', node, t, async () => {
    const bin = snapshot(n.cniBin);
    node.agent.current.stop();
    assert.equal(installCni(n).status, 0, 'install-cni of the new pod');
    assert.deepEqual(snapshot(n.cniBin), bin, 'the same plugin, not touched');
    const conf = JSON.parse(readFileSync(join(n.cniConf, '10-nnet.conflist'), 'utf8')) as Obj;
    assert.equal(conf.plugins[0].serviceCidr, '10.100.0.0/16', 'the new conflist');
    return startAgentContainer(c, n, IMAGE);
  });
  assert.match(routes(a), /^10\.96\.0\.0\/12 via /m, 'a running pod keeps what it was made with');
  // The runtime reads the conflist again for each call, as a real one does.
  const rt = nodeRuntime(c, n, t);
  const [p3] = addPods(c, rt, 1, t) as [NodePod];
  assert.match(routes(p3), /^10\.100\.0\.0\/16 via /m, 'a new pod gets the new Service CIDR');
  assert.doesNotMatch(routes(p3), /^10\.96\.0\.0\/12 /m);
  await waitFor(() => pings(p3.netns, a.ip) || undefined, 120_000);
});
