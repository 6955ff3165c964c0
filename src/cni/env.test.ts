import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InputError } from '../errors/index.ts';
import { parsePlugSpec } from '../plug/index.ts';
import { parseCniArgs, parseCommand, parseEnv } from './env.ts';

const ADD = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/run/netns/p1', CNI_IFNAME: 'eth0' };

function envError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InputError, `expected an InputError, got ${String(e)}`);
    assert.equal(e.reason, 'invalid-env');
    return e;
  }
  assert.fail('expected an invalid-env error');
}

test('every command the spec defines is accepted; anything else is a code-4 error naming CNI_COMMAND', () => {
  for (const c of ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'])
    assert.equal(parseCommand({ CNI_COMMAND: c }), c);
  for (const bad of [undefined, '', 'add', 'INIT', 'ADD ', 'FOO']) {
    const e = envError(() => parseCommand({ CNI_COMMAND: bad }));
    assert.match(e.message, /CNI_COMMAND/);
  }
});

test('which variables are required depends on the command', () => {
  const cases: { env: Record<string, string>; missing: string[] }[] = [
    { env: { CNI_COMMAND: 'ADD' }, missing: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'] },
    { env: { CNI_COMMAND: 'CHECK' }, missing: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'] },
    { env: { CNI_COMMAND: 'DEL' }, missing: ['CNI_CONTAINERID', 'CNI_IFNAME'] },
    { env: { ...ADD, CNI_NETNS: '' }, missing: ['CNI_NETNS'] },
  ];
  for (const { env, missing } of cases) {
    const e = envError(() => parseEnv(env));
    for (const name of missing) assert.match(e.message, new RegExp(`${name} is missing`), env.CNI_COMMAND);
    if (env.CNI_COMMAND === 'DEL') assert.doesNotMatch(e.message, /CNI_NETNS/);
  }
  assert.deepEqual(parseEnv({ CNI_COMMAND: 'STATUS' }), {
    command: 'STATUS',
    args: { ignoreUnknown: false, ignoredKeys: [] },
    cniPath: [],
  });
  assert.equal(parseEnv({ CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin::/usr/lib/cni' }).command, 'GC');
  assert.deepEqual(parseEnv({ CNI_COMMAND: 'VERSION' }), { command: 'VERSION' });
});

test('DEL without CNI_NETNS parses with netns undefined', () => {
  const inv = parseEnv({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'abc', CNI_IFNAME: 'eth0' });
  assert.equal(inv.command, 'DEL');
  assert.ok('netns' in inv);
  assert.equal(inv.netns, undefined);
});

test('a full ADD environment parses into a typed invocation', () => {
  const inv = parseEnv({
    ...ADD,
    CNI_PATH: '/opt/cni/bin:/usr/libexec/cni',
    CNI_ARGS:
      'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=0b9f5b0c-5a9e-4f0e-9d55-0d1c4d7f4a11',
  });
  assert.deepEqual(inv, {
    command: 'ADD',
    containerId: 'c0ffee',
    ifname: 'eth0',
    netns: '/run/netns/p1',
    cniPath: ['/opt/cni/bin', '/usr/libexec/cni'],
    args: {
      ignoreUnknown: true,
      ignoredKeys: [],
      podNamespace: 'default',
      podName: 'web-0',
      podInfraContainerId: 'c0ffee',
      podUid: '0b9f5b0c-5a9e-4f0e-9d55-0d1c4d7f4a11',
    },
  });
});

test('container ids follow the spec syntax, and are at most 253 characters (what the store and Neutron keep)', () => {
  for (const ok of ['a', '0', 'abc_DEF-1.2', 'f'.repeat(64), 'f'.repeat(253)])
    assert.equal(parseEnv({ ...ADD, CNI_CONTAINERID: ok }).command, 'ADD', ok);
  for (const bad of ['-a', '_a', '.a', 'a b', 'a/b', 'a:b', 'é', 'a\n']) {
    const e = envError(() => parseEnv({ ...ADD, CNI_CONTAINERID: bad }));
    assert.match(e.message, /CNI_CONTAINERID/, JSON.stringify(bad));
  }
  for (const long of ['f'.repeat(254), 'f'.repeat(1025), 'f'.repeat(200_000)]) {
    const e = envError(() => parseEnv({ ...ADD, CNI_CONTAINERID: long }));
    assert.match(e.message, /CNI_CONTAINERID "f{64}…" .*at most 253 characters/);
    assert.ok(e.message.length < 400, 'the id is not repeated whole');
  }
  const infra = envError(() =>
    parseEnv({ ...ADD, CNI_ARGS: `K8S_POD_INFRA_CONTAINER_ID=${'f'.repeat(254)}` }),
  );
  assert.match(infra.message, /K8S_POD_INFRA_CONTAINER_ID .*at most 253 characters/);
});

test('interface names: ≤ 15 bytes of letters, digits and _.-@%+,= (what the kernel and `ip -batch` both take), not "." or ".."', () => {
  for (const ok of ['eth0', 'net1', 'a', 'x'.repeat(15), 'veth-_.x', 'eth0.100', 'a@b%c+d,e=f'])
    assert.equal(parseEnv({ ...ADD, CNI_IFNAME: ok }).command, 'ADD', ok);
  const chars = /may hold only letters, digits and/;
  const bad: [string, RegExp][] = [
    ['x'.repeat(16), /longer than 15/],
    ['é'.repeat(8), /longer than 15/],
    ['.', /"\."/],
    ['..', /"\."/],
    ['eth/0', chars],
    ['eth:0', chars],
    ['eth 0', chars],
    ['eth\t0', chars],
    ['eth\u00a00', chars],
    ['eth\u00850', chars],
    // iproute2's batch reader cuts a line at "#": the plug would have renamed the NIC "eth0".
    ['eth0#x', chars],
    ['eth"0', chars],
    ["eth'0", chars],
    ['eth\\0', chars],
    ['é', chars],
  ];
  for (const [name, why] of bad) {
    const e = envError(() => parseEnv({ ...ADD, CNI_IFNAME: name }));
    assert.equal(e.reason, 'invalid-env', 'CNI code 4');
    assert.match(e.message, /CNI_IFNAME/);
    assert.match(e.message, why, JSON.stringify(name));
  }
});

test('the CNI edge and the plug spec take exactly the same interface names (one rule)', () => {
  const spec = {
    portId: '0b7b5a6e-2c4b-4d6e-9f1a-3c2d1e0f9a8b',
    mac: 'fa:16:3e:00:00:01',
    ips: [{ address: '1.2.0.100', prefixLength: 16 }],
    routes: [],
    mtu: 1450,
    netns: '/var/run/netns/x',
  };
  const takes = (fn: () => unknown) => {
    try {
      fn();
      return true;
    } catch {
      return false;
    }
  };
  const atEdge = (ifname: string) => takes(() => parseEnv({ ...ADD, CNI_IFNAME: ifname }));
  const inPlug = (ifname: string) => takes(() => parsePlugSpec({ ...spec, ifname }));
  const names = fc.oneof(
    fc.string({ minLength: 1, maxLength: 17 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 17 }),
    fc.constantFrom('eth0#x', 'eth0', 'net1', 'x'.repeat(16)),
  );
  fc.assert(
    fc.property(names, (ifname) => {
      assert.equal(inPlug(ifname), atEdge(ifname), JSON.stringify(ifname));
    }),
    { numRuns: 2000 },
  );
});

test('CNI_NETNS must be an absolute path', () => {
  for (const bad of ['run/netns/x', 'x', '\0/x']) {
    const e = envError(() => parseEnv({ ...ADD, CNI_NETNS: bad }));
    assert.match(e.message, /CNI_NETNS/);
  }
});

test('several bad variables are all named in one message', () => {
  const e = envError(() =>
    parseEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: '-x', CNI_IFNAME: '..', CNI_ARGS: 'X=1' }),
  );
  for (const name of ['CNI_NETNS', 'CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_ARGS'])
    assert.match(e.message, new RegExp(name));
});

test('CNI_ARGS: unknown keys are an error unless IgnoreUnknown is 1 or true', () => {
  const e = envError(() => parseCniArgs('K8S_POD_NAME=web;FOO=bar'));
  assert.match(e.message, /unknown key "FOO"/);
  for (const on of ['1', 'true', 'True', 'TRUE']) {
    const args = parseCniArgs(`FOO=bar;IgnoreUnknown=${on};K8S_POD_NAME=web`);
    assert.equal(args.ignoreUnknown, true);
    assert.deepEqual(args.ignoredKeys, ['FOO']);
    assert.equal(args.podName, 'web');
  }
  for (const off of ['0', 'false'])
    assert.throws(() => parseCniArgs(`FOO=bar;IgnoreUnknown=${off}`), /unknown key/);
  assert.throws(() => parseCniArgs('IgnoreUnknown=yes'), /IgnoreUnknown must be/);
});

test('CNI_ARGS: malformed pairs, repeated keys and bad pod identities are code-4 errors', () => {
  const cases: [string, RegExp][] = [
    ['K8S_POD_NAME', /not a KEY=VALUE pair/],
    ['=x', /not a KEY=VALUE pair/],
    ['K8S_POD_NAME=a=b', /not a KEY=VALUE pair/],
    ['K8S_POD_NAME=a;K8S_POD_NAME=b', /more than once/],
    ['K8S_POD_NAMESPACE=Default', /K8S_POD_NAMESPACE/],
    [`K8S_POD_NAMESPACE=${'a'.repeat(64)}`, /K8S_POD_NAMESPACE/],
    ['K8S_POD_NAME=web_1', /K8S_POD_NAME/],
    ['K8S_POD_NAME=-web', /K8S_POD_NAME/],
    ['K8S_POD_UID=a b', /K8S_POD_UID/],
    ['K8S_POD_INFRA_CONTAINER_ID=-x', /K8S_POD_INFRA_CONTAINER_ID/],
  ];
  for (const [raw, why] of cases) {
    const e = envError(() => parseCniArgs(raw));
    assert.match(e.message, /CNI_ARGS/);
    assert.match(e.message, why, raw);
  }
});

test('CNI_ARGS: empty input, empty segments and empty values are absent, not errors', () => {
  assert.deepEqual(parseCniArgs(''), { ignoreUnknown: false, ignoredKeys: [] });
  assert.deepEqual(parseCniArgs('K8S_POD_NAME=web;;K8S_POD_UID=;'), {
    ignoreUnknown: false,
    ignoredKeys: [],
    podName: 'web',
  });
  assert.equal(parseCniArgs('K8S_POD_NAME=a.b-c.d').podName, 'a.b-c.d');
  assert.equal(parseCniArgs(`K8S_POD_UID=${'f'.repeat(32)}`).podUid, 'f'.repeat(32));
});

test('long values are cut short in messages', () => {
  const e = envError(() => parseEnv({ ...ADD, CNI_CONTAINERID: `-${'x'.repeat(10_000)}` }));
  assert.ok(e.message.length < 400, `message is ${e.message.length} characters`);
});
