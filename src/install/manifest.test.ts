/**
 * deploy/k8s/nnet.yaml holds what a DaemonSet install needs, and its init container's command is
 * what this install step implements: its flags parse, the paths they name are the mounts, and the
 * ConfigMap's template renders and passes the plugin's own parser.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import pkg from '../../package.json' with { type: 'json' };
import { parseAgentArgs } from '../agent/index.ts';
import { parseInstallArgs } from './args.ts';
import { planInstall } from './plan.ts';

// biome-ignore lint/suspicious/noExplicitAny: parsed Kubernetes YAML, which the assertions check
type Obj = Record<string, any>;
const FILE = join(dirname(fileURLToPath(import.meta.url)), '../../deploy/k8s/nnet.yaml');
const docs = parseAllDocuments(readFileSync(FILE, 'utf8')).map((d) => {
  assert.deepEqual(d.errors, [], 'the manifest is valid YAML');
  return d.toJS() as Obj;
});
const byKind = (kind: string) => {
  const found = docs.filter((d) => d.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
};
const ns = byKind('Namespace');
const sa = byKind('ServiceAccount');
const cm = byKind('ConfigMap');
const ds = byKind('DaemonSet');
const pod = ds.spec.template.spec as Obj;
const init = pod.initContainers?.find((c: Obj) => c.name === 'install-cni') as Obj;
const agent = pod.containers?.find((c: Obj) => c.name === 'nnet-agent') as Obj;
const volume = (name: string) => pod.volumes.find((v: Obj) => v.name === name) as Obj | undefined;
/** The volume mounted at `path` in container `c`, and the path below the mount. */
function mountAt(c: Obj, path: string): { volume: Obj; rest: string } {
  const m = (c.volumeMounts as Obj[])
    .filter((vm) => path === vm.mountPath || path.startsWith(`${vm.mountPath}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  assert.ok(m, `${c.name} has a mount holding ${path}`);
  const v = volume(m.name);
  assert.ok(v, `volume ${m.name} is defined`);
  return { volume: v, rest: path.slice(m.mountPath.length) };
}
const hostPathOf = (c: Obj, path: string) => {
  const { volume: v, rest } = mountAt(c, path);
  assert.ok(v.hostPath, `${path} in ${c.name} is on a hostPath volume`);
  return v.hostPath.path + rest;
};

test('the manifest holds a Namespace, a ServiceAccount, a ConfigMap and a DaemonSet, all in the namespace', () => {
  assert.deepEqual(docs.map((d) => d.kind).sort(), ['ConfigMap', 'DaemonSet', 'Namespace', 'ServiceAccount']);
  for (const d of [sa, cm, ds]) assert.equal(d.metadata.namespace, ns.metadata.name, d.kind);
  assert.equal(ds.apiVersion, 'apps/v1');
  assert.equal(pod.serviceAccountName, sa.metadata.name);
  assert.equal(pod.automountServiceAccountToken, false);
});

test('the DaemonSet selects its own pods, on the host network, on every node', () => {
  for (const [k, v] of Object.entries(ds.spec.selector.matchLabels as Obj))
    assert.equal(ds.spec.template.metadata.labels[k], v, `pod label ${k}`);
  assert.equal(pod.hostNetwork, true);
  assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
  assert.equal(pod.priorityClassName, 'system-node-critical');
});

test('both containers run this version’s image', () => {
  assert.ok(init && agent, 'an init container install-cni and a container nnet-agent');
  assert.equal(pod.initContainers.length, 1);
  for (const c of [init, agent]) assert.equal(c.image, `localhost/nnet:${pkg.version}`, c.name);
});

test('every mount names a volume, every volume is mounted, and only the needed host paths are', () => {
  const mounted = new Set([init, agent].flatMap((c) => (c.volumeMounts as Obj[]).map((m) => m.name)));
  for (const name of mounted) assert.ok(volume(name), `volume ${name}`);
  assert.deepEqual(pod.volumes.map((v: Obj) => v.name).sort(), [...mounted].sort());
  const hostPaths = (pod.volumes as Obj[]).flatMap((v) => (v.hostPath ? [v.hostPath.path] : [])).sort();
  assert.deepEqual(
    hostPaths,
    [
      '/etc/cni/net.d',
      '/opt/cni/bin',
      '/var/run/netns',
      '/run/nnet',
      '/run/openvswitch',
      '/var/lib/nnet',
      '/var/log/nnet',
    ].sort(),
  );
});

test('install-cni’s command is the install step, and its paths are the mounts it needs', async () => {
  assert.deepEqual(init.command, ['nnet-install-cni']);
  const args = parseInstallArgs(init.args);
  assert.equal(hostPathOf(init, args.cniBinDir), '/opt/cni/bin');
  assert.equal(hostPathOf(init, args.cniConfDir), '/etc/cni/net.d');
  const tpl = mountAt(init, args.template);
  assert.equal(tpl.volume.configMap?.name, cm.metadata.name, 'the template comes from the ConfigMap');
  const key = tpl.rest.slice(1);
  assert.ok(cm.data[key], `the ConfigMap has the key ${key}`);
  assert.ok(!(init.volumeMounts as Obj[]).some((m) => m.name === 'config' && m.readOnly !== true));
  assert.equal(
    init.env.find((e: Obj) => e.name === 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath,
    'spec.nodeName',
  );

  const plan = await planInstall(args, cm.data[key], { nodeName: 'node-1' });
  assert.equal(plan.conf.nodeName, 'node-1');
  assert.equal(plan.conf.store.kind, 'etcd');
  assert.equal(JSON.parse(plan.conflist.content).plugins[0].serviceCidr, '10.96.0.0/12');
  assert.ok(
    !(init.volumeMounts as Obj[]).some((m) => m.name === 'credentials'),
    'the install step does not see the credentials: the plugin on the host reads none',
  );
});

test('the credentials come from a Secret mounted 0600, never from the ConfigMap', () => {
  const secret = volume('credentials')?.secret as Obj;
  assert.equal(secret.defaultMode, 0o600);
  assert.doesNotMatch(JSON.stringify(cm.data), /password|secret|application_credential/i);
});

test('the agent reads the conflist install-cni writes and requires the Secret’s credentials', async () => {
  assert.deepEqual(agent.command, ['nnet-agent']);
  const args = parseAgentArgs(agent.args.map((a: string) => a.replace('$(NODE_IP)', '10.0.0.5')));
  assert.equal(args.requireCredentials, true);
  const install = parseInstallArgs(init.args);
  assert.equal(hostPathOf(agent, args.cniConfig), `/etc/cni/net.d/${install.conflistName}`);
  const plan = await planInstall(install, cm.data[install.conflistName], { nodeName: 'node-1' });
  const creds = plan.conf.credentials!.file;
  assert.equal(mountAt(agent, creds).volume.secret?.secretName, 'nnet-credentials');
  // The image's /var/run is a symlink to /run, as on the host.
  const ovsdb = plan.conf.ovsdbSocket.replace(/^unix:/, '').replace(/^\/var\/run\//, '/run/');
  assert.equal(hostPathOf(agent, ovsdb), '/run/openvswitch/db.sock');
  assert.equal(hostPathOf(agent, plan.conf.logFile), plan.conf.logFile);
  assert.equal(hostPathOf(agent, plan.conf.tokenCacheDir), plan.conf.tokenCacheDir);
  // The agent serves CNI where the plugin on the host looks: the same path, shared with the host.
  assert.equal(args.socket, plan.conf.agentSocket);
  assert.equal(hostPathOf(agent, plan.conf.agentSocket), plan.conf.agentSocket);
  assert.equal(agent.securityContext.privileged, true);
  assert.equal(init.securityContext.privileged, undefined, 'the install step needs no privilege');
});
