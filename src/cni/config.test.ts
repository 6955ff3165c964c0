import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError, type InputReason } from '../errors/index.ts';
import {
  DEFAULTS,
  decodeConfig,
  type NetConf,
  type ParseOptions,
  parseNetConf,
  peekVersion,
} from './config.ts';
import type { CniCommand } from './spec.ts';

const MINIMAL = { cniVersion: '1.1.0', name: 'pods', type: 'nnet', cluster: 'prod' };
const ADD: ParseOptions = { command: 'ADD', hostname: 'node1' };

function parse(raw: Record<string, unknown>, options: ParseOptions = ADD): NetConf {
  return parseNetConf(raw, options);
}
function inputError(fn: () => unknown, reason: InputReason): InputError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InputError, `expected an InputError, got ${String(e)}`);
    assert.equal(e.reason, reason, e.message);
    return e;
  }
  assert.fail(`expected a ${reason} error`);
}

test('a minimal config gets every default', () => {
  const c = parse(MINIMAL);
  assert.deepEqual(c, {
    cniVersion: '1.1.0',
    name: 'pods',
    type: 'nnet',
    store: { kind: 'sqlite', path: '/var/lib/nnet/nnet.db', url: 'sqlite:/var/lib/nnet/nnet.db' },
    cluster: 'prod',
    credentials: undefined,
    nodeName: 'node1',
    network: undefined,
    subnet: undefined,
    plugDriver: 'internal',
    bridge: 'br-int',
    datapathType: 'system',
    ovsdbSocket: 'unix:/var/run/openvswitch/db.sock',
    ovsNetns: undefined,
    mtu: undefined,
    nested: undefined,
    serviceCidrs: undefined,
    logFile: '/var/log/nnet/nnet.log',
    logLevel: 'info',
    agentSocket: '/run/nnet/cni.sock',
    tokenCacheDir: '/var/lib/nnet/tokens',
    timeouts: { ...DEFAULTS.timeouts },
    dns: undefined,
    runtimeConfig: { ips: [], mac: undefined },
    prevResult: undefined,
    validAttachments: undefined,
  });
});

test("agentSocket names the agent's CNI socket: an absolute path", () => {
  assert.equal(
    parse({ ...MINIMAL, agentSocket: '/run/nnet/other.sock' }).agentSocket,
    '/run/nnet/other.sock',
  );
  assert.match(
    inputError(() => parse({ ...MINIMAL, agentSocket: 'cni.sock' }), 'invalid-config').message,
    /field "agentSocket" must be an absolute path/,
  );
});

test('serviceCidr takes a comma list like kube-apiserver, one CIDR per family', () => {
  assert.deepEqual(parse({ ...MINIMAL, serviceCidr: '10.96.0.0/12' }).serviceCidrs, ['10.96.0.0/12']);
  assert.deepEqual(parse({ ...MINIMAL, serviceCidr: '10.96.0.0/12, fd00:10:96:0::/112' }).serviceCidrs, [
    '10.96.0.0/12',
    'fd00:10:96::/112',
  ]);
  for (const bad of ['10.96.0.1/12', '10.96.0.0/12,10.100.0.0/16', 'nope'])
    assert.match(
      inputError(() => parse({ ...MINIMAL, serviceCidr: bad }), 'invalid-config').message,
      /field "serviceCidr"/,
    );
});

test('nodeName defaults to the host name', () => {
  const { hostname } = ADD;
  assert.equal(parse(MINIMAL, { command: 'ADD', hostname: 'worker-7' }).nodeName, 'worker-7');
  assert.equal(hostname, 'node1');
  assert.ok(parseNetConf(MINIMAL, { command: 'ADD' }).nodeName.length > 0);
});

test('a full config parses into typed values', () => {
  const c = parse({
    ...MINIMAL,
    store: 'etcd:http://10.0.0.1:2379,https://10.0.0.2:2379/',
    credentials: { cloudsYaml: '/etc/nnet/clouds.yaml', cloud: 'nnet' },
    nodeName: 'node2',
    network: 'pods-net',
    subnet: '9a0c7b8e-2f4a-4c1e-9d55-0d1c4d7f4a11',
    plugDriver: 'hybrid',
    bridge: 'br-pods',
    datapathType: 'netdev',
    ovsdbSocket: '/run/openvswitch/db.sock',
    ovsNetns: 'mn-node1',
    mtu: 1450,
    logFile: '/tmp/nnet.log',
    logLevel: 'debug',
    tokenCacheDir: '/run/nnet/tokens',
    timeouts: { neutronMs: 5000 },
    dns: { nameservers: ['1.2.0.2'], search: ['svc.cluster.local'] },
    runtimeConfig: { ips: ['1.2.0.100/16', '2001:DB8::5'], mac: 'C2:11:22:33:44:55', portMappings: [] },
  });
  assert.deepEqual(c.store, {
    kind: 'etcd',
    endpoints: ['http://10.0.0.1:2379', 'https://10.0.0.2:2379'],
    url: 'etcd:http://10.0.0.1:2379,https://10.0.0.2:2379/',
  });
  assert.deepEqual(c.credentials, { kind: 'clouds-yaml', file: '/etc/nnet/clouds.yaml', cloud: 'nnet' });
  assert.equal(c.ovsdbSocket, 'unix:/run/openvswitch/db.sock');
  assert.deepEqual(c.timeouts, { ...DEFAULTS.timeouts, neutronMs: 5000 });
  assert.deepEqual(c.runtimeConfig, {
    ips: [
      { ip: '1.2.0.100', version: 4, prefixLength: 16 },
      { ip: '2001:db8::5', version: 6 },
    ],
    mac: 'c2:11:22:33:44:55',
  });
  assert.equal(c.plugDriver, 'hybrid');
  assert.equal(c.datapathType, 'netdev');
  assert.deepEqual(parse({ ...MINIMAL, credentials: { openrc: '/etc/nnet/openrc' } }).credentials, {
    kind: 'openrc',
    file: '/etc/nnet/openrc',
  });
  assert.deepEqual(parse({ ...MINIMAL, store: 'sqlite:///srv/nnet.db' }).store, {
    kind: 'sqlite',
    path: '/srv/nnet.db',
    url: 'sqlite:///srv/nnet.db',
  });
  assert.equal(parse({ ...MINIMAL, ovsdbSocket: 'tcp:127.0.0.1:6640' }).ovsdbSocket, 'tcp:127.0.0.1:6640');
});

test('unknown top-level keys are ignored, as a conflist plugin entry carries others', () => {
  const c = parse({
    ...MINIMAL,
    capabilities: { ips: true, mac: true },
    cniVersions: ['1.0.0', '1.1.0'],
    args: { cni: { labels: [] } },
    ipMasq: true,
    somethingElse: { deep: [1, 2, 3] },
  });
  assert.equal(c.name, 'pods');
});

test('a plugin config as libcni passes it from a conflist (name and cniVersion injected) works', () => {
  const conflist = {
    cniVersion: '1.0.0',
    name: 'k8s-pods',
    plugins: [{ type: 'nnet', cluster: 'prod', capabilities: { ips: true } }, { type: 'portmap' }],
  };
  const injected = { ...conflist.plugins[0], name: conflist.name, cniVersion: conflist.cniVersion };
  const c = parse(injected);
  assert.equal(c.name, 'k8s-pods');
  assert.equal(c.cniVersion, '1.0.0');
});

test('each supported cniVersion is accepted; others are code 1 listing the supported ones', () => {
  for (const v of ['0.4.0', '1.0.0', '1.1.0'])
    assert.equal(parse({ ...MINIMAL, cniVersion: v }).cniVersion, v);
  for (const v of ['0.3.1', '0.1.0', '1.2.0', '2.0.0', '1.1', 'latest', '']) {
    const e = inputError(() => parse({ ...MINIMAL, cniVersion: v }), 'unsupported-version');
    assert.match(e.message, /0\.4\.0, 1\.0\.0, 1\.1\.0/);
  }
  assert.match(
    inputError(() => parse({ ...MINIMAL, cniVersion: undefined }), 'invalid-config').message,
    /"cniVersion" is required/,
  );
  assert.match(
    inputError(() => parse({ ...MINIMAL, cniVersion: 1 }), 'invalid-config').message,
    /"cniVersion" must be a string/,
  );
});

test('GC and STATUS need cniVersion 1.1.0', () => {
  for (const command of ['GC', 'STATUS'] as CniCommand[])
    for (const v of ['0.4.0', '1.0.0']) {
      const e = inputError(() => parse({ ...MINIMAL, cniVersion: v }, { command }), 'unsupported-version');
      assert.match(e.message, new RegExp(`${command} needs cniVersion 1.1.0`));
    }
  assert.equal(parse(MINIMAL, { command: 'STATUS' }).cniVersion, '1.1.0');
});

test('nested mode: plugDriver vlan takes the VM NIC, how to untag and the parent port; other drivers ignore nested', () => {
  const c = parse({ ...MINIMAL, plugDriver: 'vlan' });
  assert.deepEqual(c.nested, {
    parentPort: undefined,
    nic: 'eth0',
    vlanDevice: 'kernel',
    nicNetns: undefined,
  });
  const parentPort = '9a0c7b8e-2f4a-4c1e-9d55-0d1c4d7f4a11';
  const full = parse({
    ...MINIMAL,
    plugDriver: 'vlan',
    nested: { parentPort, nic: 'ens4', vlanDevice: 'ovs', nicNetns: 'vm1' },
  });
  assert.deepEqual(full.nested, { parentPort, nic: 'ens4', vlanDevice: 'ovs', nicNetns: 'vm1' });
  assert.equal(parse({ ...MINIMAL, nested: { nic: 'ens4' } }).nested, undefined);
});

test('invalid fields are code 7 with a message naming the field', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ name: undefined }, 'field "name" is required'],
    [{ name: '-pods' }, 'field "name" must start with a letter or digit'],
    [{ name: 5 }, 'field "name" must be a string'],
    [{ type: 'bridge' }, 'field "type" must be "nnet" (got "bridge")'],
    [{ type: undefined }, 'field "type" is required'],
    [{ cluster: undefined }, 'field "cluster" is required'],
    [{ cluster: '' }, 'field "cluster" must not be empty'],
    [{ cluster: 'a b' }, 'field "cluster" must not contain whitespace'],
    [{ plugDriver: 'veth' }, 'field "plugDriver" must be one of internal, hybrid, vlan (got "veth")'],
    [{ plugDriver: 1 }, 'field "plugDriver" must be one of internal, hybrid, vlan'],
    [{ datapathType: 'dpdk' }, 'field "datapathType" must be one of system, netdev (got "dpdk")'],
    [{ logLevel: 'trace' }, 'field "logLevel" must be one of debug, info, warn, error (got "trace")'],
    [{ store: 'mysql://x' }, 'field "store" must be sqlite:/absolute/path or etcd:'],
    [{ store: 'sqlite:relative.db' }, 'field "store" must be sqlite:/absolute/path'],
    [{ store: 'etcd:ftp://x:1' }, 'field "store" must be etcd:http(s)://'],
    [{ store: 'etcd:' }, 'field "store" must be etcd:http(s)://'],
    [{ store: 42 }, 'field "store" must be a string'],
    [{ credentials: { cloudsYaml: '/etc/c.yaml' } }, 'field "credentials" must be {"cloudsYaml"'],
    [{ credentials: { openrc: 'openrc' } }, 'field "credentials.openrc" must be an absolute path'],
    [{ credentials: { openrc: '/x', password: 'p' } }, 'field "credentials" has unknown keys "password"'],
    [{ bridge: 'br int' }, 'field "bridge" may hold only letters, digits and'],
    [{ bridge: 'a-very-long-bridge-name' }, 'field "bridge" is longer than 15 bytes'],
    [
      { ovsdbSocket: 'db.sock' },
      'field "ovsdbSocket" must be unix:/absolute/path, /absolute/path or tcp:HOST:PORT',
    ],
    [{ ovsdbSocket: 'tcp:host:99999' }, 'field "ovsdbSocket" has a TCP port outside 1–65535'],
    [{ ovsdbSocket: 'ssl:127.0.0.1:6640' }, 'field "ovsdbSocket" ssl: is not supported'],
    [{ ovsNetns: 'a/b' }, 'field "ovsNetns" must be a netns name or an absolute path'],
    [{ nested: { parentPort: 'vm1-port' } }, 'field "nested.parentPort" must be a Neutron port id (a UUID)'],
    [{ nested: { vlanDevice: 'macvlan' } }, 'field "nested.vlanDevice" must be one of kernel, ovs'],
    [{ nested: { nic: 'eth0 x' } }, 'field "nested.nic" may hold only letters, digits and'],
    [{ nested: { trunk: 'x' } }, 'field "nested" has unknown keys "trunk"'],
    [{ mtu: 67 }, 'field "mtu" must be at least 68'],
    [{ mtu: 70000 }, 'field "mtu" must be at most 65535'],
    [{ mtu: 1450.5 }, 'field "mtu" must be an integer'],
    [{ mtu: '1450' }, 'field "mtu" must be a number'],
    [{ logFile: 'nnet.log' }, 'field "logFile" must be an absolute path'],
    [{ tokenCacheDir: '' }, 'field "tokenCacheDir" must be an absolute path'],
    [{ timeouts: { totalMs: 0 } }, 'field "timeouts.totalMs" must be at least 1'],
    [{ timeouts: { neutron: 5 } }, 'field "timeouts" has unknown keys "neutron"'],
    [{ timeouts: [] }, 'field "timeouts" must be an object'],
    [{ network: '' }, 'field "network" must not be empty'],
    [{ subnet: 'x'.repeat(256) }, 'field "subnet" must be at most 255 characters'],
    [{ dns: { nameservers: '1.1.1.1' } }, 'field "dns.nameservers" must be a list'],
    [{ runtimeConfig: 'x' }, 'field "runtimeConfig" must be an object'],
    [{ runtimeConfig: { ips: '1.2.0.100' } }, 'field "runtimeConfig.ips" must be a list'],
    [{ runtimeConfig: { ips: ['1.2.0.300'] } }, 'field "runtimeConfig.ips[0]" must be an IP address'],
    [
      { runtimeConfig: { ips: ['1.2.0.1', '1.2.0.1/24'] } },
      'field "runtimeConfig.ips" lists an address twice',
    ],
    [{ runtimeConfig: { ips: ['1.2.0.1/33'] } }, 'field "runtimeConfig.ips[0]" must be an IP address'],
    [{ runtimeConfig: { ips: ['fe80::1%eth0'] } }, 'field "runtimeConfig.ips[0]" must be an IP address'],
    [{ runtimeConfig: { mac: 'c2:11:22:33:44' } }, 'field "runtimeConfig.mac" must be a MAC address'],
    [
      { runtimeConfig: { mac: '01:00:5e:00:00:01' } },
      'field "runtimeConfig.mac" must be a unicast MAC address',
    ],
  ];
  for (const [patch, expected] of cases) {
    const e = inputError(() => parse({ ...MINIMAL, ...patch }), 'invalid-config');
    assert.ok(
      e.message.startsWith(`invalid network config: ${expected}`),
      `${JSON.stringify(patch)}: got ${JSON.stringify(e.message)}`,
    );
  }
});

test('several bad fields: the message names the first, details list them all', () => {
  const e = inputError(() => parse({ ...MINIMAL, plugDriver: 'x', mtu: 1 }), 'invalid-config');
  assert.match(e.message, /plugDriver/);
  assert.match(e.details ?? '', /plugDriver.*mtu/);
});

test('values that may hold secrets are never echoed', () => {
  const e = inputError(
    () => parse({ ...MINIMAL, store: 'etcd:http://root:hunter2@10.0.0.1:2379' }),
    'invalid-config',
  );
  assert.doesNotMatch(`${e.message} ${e.details ?? ''}`, /hunter2/);
  const e2 = inputError(() => parse({ ...MINIMAL, cluster: 'hunter2 x' }), 'invalid-config');
  assert.doesNotMatch(`${e2.message} ${e2.details ?? ''}`, /hunter2/);
});

test('prevResult in the 1.x and 0.4.0 shapes becomes the canonical result', () => {
  const prev1 = {
    cniVersion: '1.1.0',
    interfaces: [{ name: 'eth0', mac: 'FA:16:3E:00:00:01', mtu: 1450, sandbox: '/run/netns/p1', extra: 1 }],
    ips: [{ address: '1.2.0.100/16', gateway: '1.2.0.1', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0', gw: '1.2.0.1', priority: 10 }],
    dns: { nameservers: ['1.2.0.2'] },
  };
  const c = parse({ ...MINIMAL, prevResult: prev1 }, { command: 'CHECK' });
  assert.deepEqual(c.prevResult, {
    interfaces: [{ name: 'eth0', mac: 'fa:16:3e:00:00:01', mtu: 1450, sandbox: '/run/netns/p1' }],
    ips: [{ address: '1.2.0.100/16', gateway: '1.2.0.1', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0', gw: '1.2.0.1', priority: 10 }],
    dns: { nameservers: ['1.2.0.2'] },
  });
  const prev04 = {
    cniVersion: '0.4.0',
    interfaces: [{ name: 'eth0', mac: 'fa:16:3e:00:00:01', sandbox: '/run/netns/p1' }],
    ips: [{ version: '4', address: '1.2.0.100/16', interface: 0 }],
  };
  const c04 = parse({ ...MINIMAL, cniVersion: '0.4.0', prevResult: prev04 }, { command: 'DEL' });
  assert.deepEqual(c04.prevResult, {
    interfaces: [{ name: 'eth0', mac: 'fa:16:3e:00:00:01', sandbox: '/run/netns/p1' }],
    ips: [{ address: '1.2.0.100/16', interface: 0 }],
    routes: [],
    dns: {},
  });
});

test('a prevResult that breaks the result rules is code 7', () => {
  const bad = [
    { interfaces: [{ name: 'eth0' }], ips: [{ address: '1.2.0.100', interface: 0 }] },
    { interfaces: [{ name: 'eth0' }], ips: [{ address: '1.2.0.100/16', interface: 1 }] },
    { interfaces: [{ name: 'eth0', mac: 'nope' }], ips: [] },
    { ips: [{ address: '1.2.0.100/16', gateway: '2001:db8::1' }] },
    { routes: [{ dst: 'default' }] },
    { ips: 'x' },
  ];
  for (const prevResult of bad) {
    const e = inputError(() => parse({ ...MINIMAL, prevResult }, { command: 'CHECK' }), 'invalid-config');
    assert.match(e.message, /field "prevResult/, JSON.stringify(prevResult));
  }
});

test('CHECK needs prevResult; GC needs the valid attachments, under either key', () => {
  assert.match(
    inputError(() => parse(MINIMAL, { command: 'CHECK' }), 'invalid-config').message,
    /"prevResult" is required for CHECK/,
  );
  assert.match(
    inputError(() => parse(MINIMAL, { command: 'GC' }), 'invalid-config').message,
    /"cni.dev\/valid-attachments" is required for GC/,
  );
  const list = [{ containerID: 'abc', ifname: 'eth0' }];
  for (const key of ['cni.dev/valid-attachments', 'cni.dev/attachments'])
    assert.deepEqual(parse({ ...MINIMAL, [key]: list }, { command: 'GC' }).validAttachments, [
      { containerId: 'abc', ifname: 'eth0' },
    ]);
  assert.deepEqual(
    parse({ ...MINIMAL, 'cni.dev/valid-attachments': [] }, { command: 'GC' }).validAttachments,
    [],
  );
  assert.match(
    inputError(
      () => parse({ ...MINIMAL, 'cni.dev/valid-attachments': [{ containerID: 'abc' }] }, { command: 'GC' }),
      'invalid-config',
    ).message,
    /field "cni.dev\/valid-attachments\[0\].ifname" is required/,
  );
});

test('stdin that is not a JSON object is a decode error (code 6) that does not echo the input', () => {
  const cases: (string | Uint8Array)[] = [
    '',
    '   \n',
    '{"cniVersion": "1.0.0", "password": "hunter2"',
    'null',
    '[1,2]',
    '"x"',
    '42',
    new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
  ];
  for (const input of cases) {
    const e = inputError(() => decodeConfig(input), 'decode');
    assert.doesNotMatch(`${e.message} ${e.details ?? ''}`, /hunter2/);
  }
  assert.deepEqual(decodeConfig(new TextEncoder().encode('{"a":1}')), { a: 1 });
});

test('peekVersion gives the config version only when it is one we speak', () => {
  assert.equal(peekVersion({ cniVersion: '0.4.0' }), '0.4.0');
  assert.equal(peekVersion({ cniVersion: '0.3.1' }), undefined);
  assert.equal(peekVersion({}), undefined);
});

test('a logFile that is or leads to a device, a pipe, or stdout/stderr is code 7; /dev/null and plain files are fine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nnet-logfile-'));
  try {
    symlinkSync('/dev/stdout', join(dir, 'to-stdout'));
    symlinkSync('/proc/self/fd/2', join(dir, 'to-stderr'));
    mkdirSync(join(dir, 'a-dir'));
    execFileSync('mkfifo', [join(dir, 'a-fifo')]);
    writeFileSync(join(dir, 'existing.log'), '');
    for (const logFile of [
      '/dev/stdout',
      '/dev/stderr',
      '/dev/fd/1',
      '/dev/fd/2',
      '/proc/self/fd/1',
      '/proc/thread-self/fd/1',
      `/proc/${process.pid}/fd/1`,
      '/dev/./stdout',
      '/tmp/../dev/stdout',
      '/dev/tty',
      '/dev/console',
      '/sys/kernel/x',
    ])
      assert.match(
        inputError(() => parse({ ...MINIMAL, logFile }), 'invalid-config').message,
        /field "logFile" must be a regular file outside \/dev, \/proc and \/sys/,
        logFile,
      );
    for (const [name, kind] of [
      ['to-stdout', /must be a regular file, and it is (a pipe|a character device|a socket)|own stdout/],
      ['to-stderr', /must be a regular file, and it is (a pipe|a character device|a socket)|own stderr/],
      ['a-dir', /it is a directory/],
      ['a-fifo', /it is a pipe/],
    ] as const)
      assert.match(
        inputError(() => parse({ ...MINIMAL, logFile: join(dir, name) }), 'invalid-config').message,
        kind,
        name,
      );
    for (const logFile of ['/dev/null', join(dir, 'existing.log'), join(dir, 'not-yet', 'nnet.log')])
      assert.equal(parse({ ...MINIMAL, logFile }).logFile, logFile);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("logFileProblem refuses the process's own stdout when it is a regular file", () => {
  const dir = mkdtempSync(join(tmpdir(), 'nnet-logfile-'));
  try {
    const out = join(dir, 'stdout.txt');
    const script = `import { logFileProblem } from ${JSON.stringify(new URL('./config.ts', import.meta.url).href)};
      console.error(JSON.stringify([logFileProblem(${JSON.stringify(out)}), logFileProblem(${JSON.stringify(join(dir, 'other.log'))})]));`;
    const fd = openSync(out, 'w');
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', fd, 'pipe'],
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stderr.trim().split('\n').pop()!), [
        "must not be the plugin's own stdout (log lines would corrupt the CNI result)",
        null,
      ]);
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
