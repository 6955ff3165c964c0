import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../errors/index.ts';
import { parseNodeConfig, pluginConfigOf } from './config.ts';

const PLUGIN = {
  type: 'nnet',
  store: 'sqlite:/var/lib/nnet/nnet.db',
  cluster: 'prod',
  nodeName: 'node-1',
  ovsdbSocket: 'unix:/run/openvswitch/db.sock',
  ovsNetns: 'ovs',
  bridge: 'br-int',
  datapathType: 'netdev',
};

test('a conflist gives the nnet plugin with the list name and cniVersion, as libcni hands it over', () => {
  const doc = {
    cniVersion: '1.0.0',
    name: 'pods',
    plugins: [PLUGIN, { type: 'portmap', capabilities: { portMappings: true } }],
  };
  const c = pluginConfigOf(doc, '/etc/cni/net.d/10-nnet.conflist');
  assert.equal(c.name, 'pods');
  assert.equal(c.cniVersion, '1.0.0');
  assert.equal(c.cluster, 'prod');
});

test('the agent parses the config with the plugin parser: same store, node, OVSDB, bridge, datapath', async () => {
  const conf = await parseNodeConfig(
    JSON.stringify({ cniVersion: '1.0.0', name: 'pods', plugins: [PLUGIN] }),
    '/etc/cni/net.d/10-nnet.conflist',
  );
  assert.equal(conf.store.url, 'sqlite:/var/lib/nnet/nnet.db');
  assert.equal(conf.cluster, 'prod');
  assert.equal(conf.nodeName, 'node-1');
  assert.equal(conf.ovsdbSocket, 'unix:/run/openvswitch/db.sock');
  assert.equal(conf.ovsNetns, 'ovs');
  assert.equal(conf.datapathType, 'netdev');
  assert.equal(conf.plugDriver, 'internal');
});

test('a single plugin config works too and nodeName defaults to the hostname given', async () => {
  const { nodeName: _, ...rest } = PLUGIN;
  const conf = await parseNodeConfig(
    JSON.stringify({ cniVersion: '1.1.0', name: 'pods', ...rest }),
    '/x.conf',
    'h1',
  );
  assert.equal(conf.nodeName, 'h1');
});

test('config errors name the file and the problem', async () => {
  const file = '/etc/cni/net.d/10-nnet.conflist';
  const cases: [string, RegExp][] = [
    ['{', /10-nnet\.conflist is not valid JSON/],
    ['[]', /is not a JSON object/],
    [
      JSON.stringify({ cniVersion: '1.0.0', name: 'x', plugins: [{ type: 'bridge' }] }),
      /no plugin of type "nnet"/,
    ],
    [
      JSON.stringify({ cniVersion: '1.0.0', name: 'x', plugins: [PLUGIN, PLUGIN] }),
      /2 plugins of type "nnet"/,
    ],
    [JSON.stringify({ cniVersion: '1.0.0', name: 'x', type: 'bridge' }), /neither a config list/],
    [
      JSON.stringify({ cniVersion: '1.0.0', name: 'x', plugins: [{ ...PLUGIN, datapathType: 'fast' }] }),
      /10-nnet\.conflist: invalid network config: field "datapathType"/,
    ],
  ];
  for (const [text, re] of cases)
    await assert.rejects(
      () => parseNodeConfig(text, file),
      (e: unknown) => e instanceof InputError && re.test(e.message),
      text,
    );
});
