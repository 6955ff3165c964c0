import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../errors/index.ts';
import { parseInstallArgs } from './args.ts';
import { fillPlaceholders, planInstall } from './plan.ts';

// The template's placeholder, as the ConfigMap writes it (not a JS template).
const NODE_NAME = '$' + '{NODE_NAME}';
const TEMPLATE = {
  cniVersion: '1.0.0',
  name: 'nnet',
  plugins: [
    {
      type: 'nnet',
      cluster: 'prod',
      store: 'etcd:http://10.0.0.1:2379',
      credentials: { cloudsYaml: '/etc/nnet/credentials/clouds.yaml', cloud: 'nnet' },
      nodeName: NODE_NAME,
      datapathType: 'system',
      plugDriver: 'internal',
    },
  ],
};
const text = (doc: unknown) => JSON.stringify(doc);
const withPlugin = (over: Record<string, unknown>) =>
  text({ ...TEMPLATE, plugins: [{ ...TEMPLATE.plugins[0], ...over }] });
const args = parseInstallArgs([]);
const node = { nodeName: 'node-1' };

async function rejection(p: Promise<unknown>): Promise<InputError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof InputError, `expected an InputError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a rejection');
}

test('the plan installs nnet and the rendered conflist, and no credentials (the plugin on the host reads none)', async () => {
  const plan = await planInstall(args, text(TEMPLATE), node);
  assert.deepEqual(plan.plugin, {
    source: '/opt/nnet/dist/nnet',
    dest: '/host/opt/cni/bin/nnet',
    mode: 0o755,
  });
  assert.ok(!('credentials' in plan));
  assert.equal(plan.conflist.dest, '/host/etc/cni/net.d/10-nnet.conflist');
  const written = JSON.parse(plan.conflist.content);
  assert.equal(written.plugins[0].nodeName, 'node-1');
  assert.equal(plan.conf.nodeName, 'node-1');
  assert.ok(plan.conflist.content.endsWith('}\n'));
});

test('the same template and node give the same bytes (so a second run rewrites nothing)', async () => {
  const a = await planInstall(args, text(TEMPLATE), node);
  const b = await planInstall(args, `\n${JSON.stringify(TEMPLATE, null, 8)}\n`, node);
  assert.equal(a.conflist.content, b.conflist.content);
});

test('a template the plugin refuses fails with the plugin parser’s code-7 message', async () => {
  const e = await rejection(planInstall(args, withPlugin({ plugDriver: 'veth' }), node));
  assert.equal(e.reason, 'invalid-config');
  assert.equal(
    e.message,
    'invalid network config: field "plugDriver" must be one of internal, hybrid, vlan (got "veth")',
  );
});

test('a template that is not JSON, or not a conflist, is refused', async () => {
  assert.equal((await rejection(planInstall(args, '{"plugins": [', node))).reason, 'decode');
  assert.match(
    (await rejection(planInstall(args, text(TEMPLATE.plugins[0]), node))).message,
    /is not a conflist/,
  );
  assert.match(
    (await rejection(planInstall(args, text({ ...TEMPLATE, plugins: [{ type: 'bridge' }] }), node))).message,
    /has no plugin of type "nnet"/,
  );
});

test('the node-name placeholder without NODE_NAME, an unknown placeholder or a bad node name are refused', async () => {
  assert.match(
    (await rejection(planInstall(args, text(TEMPLATE), { nodeName: undefined }))).message,
    /uses \$\{NODE_NAME\} but NODE_NAME is not set/,
  );
  assert.match(
    (await rejection(planInstall(args, withPlugin({ bridge: `$${'{'}BRIDGE}` }), node))).message,
    /uses \$\{BRIDGE\}; the known placeholders are \$\{NODE_NAME\}/,
  );
  assert.match(
    (await rejection(planInstall(args, text(TEMPLATE), { nodeName: 'Node 1' }))).message,
    /not a node name/,
  );
});

test('a node-local SQLite store is refused: every node and kubenetctl share the store', async () => {
  const e = await rejection(planInstall(args, withPlugin({ store: 'sqlite:/var/lib/nnet/nnet.db' }), node));
  assert.match(e.message, /field "store" is a SQLite file .* use the cluster's etcd store/);
});

test('--copy-credentials is gone: the plugin is a thin client that reads no credentials', () => {
  assert.throws(() => parseInstallArgs(['--copy-credentials']), /unknown flag --copy-credentials/);
});

test('placeholders are filled in string values only, never in keys', () => {
  assert.deepEqual(fillPlaceholders({ [NODE_NAME]: [`a-${NODE_NAME}`, 1, null] }, { NODE_NAME: 'n1' }, 'f'), {
    [NODE_NAME]: ['a-n1', 1, null],
  });
});

test('flags: paths must be absolute, the conflist name ends in .conflist, no flag twice', () => {
  assert.throws(
    () => parseInstallArgs(['--cni-bin-dir=opt/cni/bin']),
    /--cni-bin-dir: must be an absolute path/,
  );
  assert.throws(() => parseInstallArgs(['--template=/etc/nnet/config/nnet.json']), /must end in .conflist/);
  assert.throws(() => parseInstallArgs(['--plugin=/a', '--plugin', '/b']), /--plugin given twice/);
  assert.equal(parseInstallArgs(['--conflist-name', '05-nnet.conflist']).conflistName, '05-nnet.conflist');
});
