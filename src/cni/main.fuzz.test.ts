/**
 * Property-based fuzzing of the plugin's edge: random and mutated environments and configs (valid
 * ones with keys dropped, retyped, blown up, made unicode, cut short, turned into garbage) go
 * through runPlugin with a verb table that returns fixed valid results (or throws anything).
 * Whatever comes in, the plugin answers with either a spec-valid success or one spec error JSON
 * with a known code, and an exit code that agrees; nothing escapes, no stack trace is printed.
 * The checks of the output are written independently of src/cni's own validators. The default
 * suite runs 1,200 cases; `npm run fuzz` runs 10,000 (NNET_FUZZ_CASES=N for any other count).
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { STACK_TRACE } from '../../test/support/stack.ts';
import { createLogger } from '../log/index.ts';
import { runPlugin, type Verbs } from './main.ts';
import { attachmentResult } from './result.ts';

const VERSIONS = ['0.4.0', '1.0.0', '1.1.0'];
const KNOWN_CODES = new Set([1, 3, 4, 5, 6, 7, 11, 50, 51, ...Array.from({ length: 16 }, (_, i) => 100 + i)]);
const COMMANDS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'] as const;

const RESULT = attachmentResult({
  ifname: 'eth0',
  mac: 'fa:16:3e:12:34:56',
  mtu: 1450,
  sandbox: '/run/netns/fuzz',
  addresses: [
    { ip: '1.2.0.100', prefixLength: 16, gateway: '1.2.0.1' },
    { ip: 'fd00::64', prefixLength: 64, gateway: 'fd00::1' },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '1.2.0.1' }],
  dns: { nameservers: ['1.2.0.2'] },
});

const PREV = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'eth0', mac: 'fa:16:3e:12:34:56', sandbox: '/run/netns/fuzz' }],
  ips: [{ address: '1.2.0.100/16', gateway: '1.2.0.1', interface: 0 }],
  routes: [{ dst: '0.0.0.0/0', gw: '1.2.0.1' }],
};

function validConfig(command: string, version: string): Record<string, unknown> {
  return {
    cniVersion: version,
    name: 'pods',
    type: 'nnet',
    cluster: 'prod',
    store: 'sqlite:/var/lib/nnet/nnet.db',
    plugDriver: 'internal',
    bridge: 'br-int',
    datapathType: 'netdev',
    timeouts: { totalMs: 5000 },
    runtimeConfig: { ips: ['1.2.0.100/16'], mac: 'c2:11:22:33:44:55' },
    ...(command === 'CHECK' || command === 'DEL' ? { prevResult: PREV } : {}),
    ...(command === 'GC' ? { 'cni.dev/valid-attachments': [{ containerID: 'c0ffee', ifname: 'eth0' }] } : {}),
  };
}

function validEnv(command: string): Record<string, string> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'c0ffee',
    CNI_NETNS: '/run/netns/fuzz',
    CNI_IFNAME: 'eth0',
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0',
    CNI_PATH: '/opt/cni/bin',
  };
}

// ---- Generators.

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '.', '..', '-', '/x', 'eth0', 'a'.repeat(16), '\0', '\u0085', 'IgnoreUnknown=1'),
  fc.nat({ max: 200_000 }).map((n) => 'x'.repeat(n)),
);
const cniArgs = fc.oneof(
  text,
  fc
    .array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom(
            'K8S_POD_NAMESPACE',
            'K8S_POD_NAME',
            'K8S_POD_UID',
            'K8S_POD_INFRA_CONTAINER_ID',
            'IgnoreUnknown',
          ),
          text,
        ),
        fc.oneof(fc.constantFrom('1', 'true', 'default', 'web-0', 'Bad_Name', ''), text),
      ),
      { maxLength: 6 },
    )
    .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join(';')),
);
const commandValue = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...COMMANDS) },
  { weight: 1, arbitrary: fc.constantFrom('add', 'INIT', 'ADD ', '') },
  { weight: 1, arbitrary: text },
);

type EnvMutation = { kind: 'drop'; key: string } | { kind: 'set'; key: string; value: string };
const ENV_KEYS = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'];
const envMutation: fc.Arbitrary<EnvMutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), key: fc.constantFrom(...ENV_KEYS) }),
  fc.record({
    kind: fc.constant('set' as const),
    key: fc.constantFrom('CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'),
    value: text,
  }),
  fc.record({ kind: fc.constant('set' as const), key: fc.constant('CNI_ARGS'), value: cniArgs }),
);

const CONFIG_KEYS = [
  'cniVersion',
  'name',
  'type',
  'cluster',
  'store',
  'credentials',
  'nodeName',
  'network',
  'subnet',
  'plugDriver',
  'bridge',
  'datapathType',
  'ovsdbSocket',
  'ovsNetns',
  'mtu',
  'logFile',
  'logLevel',
  'tokenCacheDir',
  'timeouts',
  'dns',
  'runtimeConfig',
  'prevResult',
  'cni.dev/valid-attachments',
  'cni.dev/attachments',
];
type Path = (string | number)[];
const configPath: fc.Arbitrary<Path> = fc.oneof(
  fc.constantFrom(...CONFIG_KEYS).map((k) => [k]),
  fc.constantFrom<Path>(
    ['timeouts', 'totalMs'],
    ['runtimeConfig', 'ips'],
    ['runtimeConfig', 'ips', 0],
    ['runtimeConfig', 'mac'],
    ['prevResult', 'interfaces'],
    ['prevResult', 'interfaces', 0, 'name'],
    ['prevResult', 'interfaces', 0, 'mac'],
    ['prevResult', 'ips', 0, 'address'],
    ['prevResult', 'ips', 0, 'interface'],
    ['prevResult', 'routes', 0, 'dst'],
    ['cni.dev/valid-attachments', 0, 'containerID'],
    ['credentials', 'cloudsYaml'],
  ),
  text.map((k) => [k]),
);
const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  text,
  fc.constantFrom(
    null,
    true,
    0,
    -1,
    1.5,
    Number.POSITIVE_INFINITY,
    [],
    {},
    '1.1.0',
    '0.3.1',
    'nnet',
    'hybrid',
    '::/0',
  ),
  fc.double(),
  fc.integer(),
);
type ConfigMutation = { kind: 'drop'; path: Path } | { kind: 'set'; path: Path; value: unknown };
const configMutation: fc.Arbitrary<ConfigMutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), path: configPath }),
  fc.record({ kind: fc.constant('set' as const), path: configPath, value: anyJson }),
);

type StdinMutation =
  | { kind: 'as-is' }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; chars: string }
  | { kind: 'replace'; with: string }
  | { kind: 'bytes'; bytes: Uint8Array };
const stdinMutation: fc.Arbitrary<StdinMutation> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ kind: 'as-is' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), chars: text }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('replace' as const),
      with: fc.oneof(text, fc.constantFrom('', '{}', '[]', 'null', '"x"', '{"cniVersion":"1.0.0"}')),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
  },
);

const verbBehaviour = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'ok' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('throw' as const), value: fc.anything() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'not-ready' as const }) },
);

/** Often no mutation at all, so that deep paths (config, verbs, encoding) are reached often. */
const sometimes = <T>(arb: fc.Arbitrary<T>, maxLength: number, cleanWeight: number) =>
  fc.oneof(
    { weight: cleanWeight, arbitrary: fc.constant<T[]>([]) },
    { weight: 1, arbitrary: fc.array(arb, { minLength: 1, maxLength }) },
  );

const invocation = fc.record({
  command: commandValue,
  version: fc.constantFrom(...VERSIONS),
  envMutations: sometimes(envMutation, 3, 3),
  configMutations: sometimes(configMutation, 4, 1),
  stdin: stdinMutation,
  verb: verbBehaviour,
});

type Invocation = typeof invocation extends fc.Arbitrary<infer T> ? T : never;

// ---- Applying mutations.

function setPath(root: Record<string, unknown>, path: Path, value: unknown, drop: boolean): void {
  let node: unknown = root;
  for (const [i, key] of path.entries()) {
    if (node === null || typeof node !== 'object') return;
    const obj = node as Record<string | number, unknown>;
    if (i === path.length - 1) {
      if (drop) delete obj[key];
      else obj[key] = value;
      return;
    }
    node = obj[key];
  }
}

interface Case {
  env: Record<string, string | undefined>;
  stdin: string | Uint8Array;
  configVersion: unknown;
  verbs: Verbs;
}

function build(inv: Invocation): Case {
  const command = typeof inv.command === 'string' ? inv.command : '';
  const env: Record<string, string | undefined> = validEnv(command);
  for (const m of inv.envMutations) {
    if (m.kind === 'drop') delete env[m.key];
    else env[m.key] = m.value;
  }
  const config = structuredClone(validConfig(command, inv.version));
  for (const m of inv.configMutations)
    setPath(config, m.path, m.kind === 'set' ? m.value : undefined, m.kind === 'drop');
  let stdin: string | Uint8Array = JSON.stringify(config) ?? '';
  const s = inv.stdin;
  if (s.kind === 'truncate') stdin = stdin.slice(0, s.at % (stdin.length + 1));
  else if (s.kind === 'insert') {
    const at = s.at % (stdin.length + 1);
    stdin = stdin.slice(0, at) + s.chars + stdin.slice(at);
  } else if (s.kind === 'replace') stdin = s.with;
  else if (s.kind === 'bytes') stdin = s.bytes;

  const behave = async <T>(ok: T): Promise<T> => {
    if (inv.verb.kind === 'throw') throw inv.verb.value;
    return ok;
  };
  const verbs: Verbs = {
    add: () => behave(structuredClone(RESULT)),
    del: () => behave(undefined),
    check: () => behave(undefined),
    status: () => behave(inv.verb.kind === 'not-ready' ? { code: 51 as const, msg: 'limited' } : undefined),
    gc: () => behave(undefined),
  };
  return { env, stdin, configVersion: config.cniVersion, verbs };
}

// ---- Checking the output, independently of the code under test.

function isCidr(s: unknown): s is string {
  if (typeof s !== 'string') return false;
  const [ip, prefix, ...rest] = s.split('/');
  if (rest.length > 0 || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  const family = isIP(ip ?? '');
  return family !== 0 && Number(prefix) <= (family === 4 ? 32 : 128);
}

function assertSpecResult(doc: Record<string, unknown>, version: string): void {
  assert.equal(doc.cniVersion, version);
  const interfaces = doc.interfaces as Record<string, unknown>[];
  assert.ok(Array.isArray(interfaces) && interfaces.length > 0);
  for (const i of interfaces) {
    assert.equal(typeof i.name, 'string');
    assert.match(String(i.mac), /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.equal(typeof i.sandbox, 'string');
    if (version !== '1.1.0') assert.equal(i.mtu, undefined, 'mtu only in 1.1.0');
  }
  const ips = doc.ips as Record<string, unknown>[];
  assert.ok(Array.isArray(ips));
  for (const ip of ips) {
    assert.ok(isCidr(ip.address), String(ip.address));
    assert.ok(Number.isInteger(ip.interface) && (ip.interface as number) < interfaces.length);
    if (ip.gateway !== undefined) assert.notEqual(isIP(String(ip.gateway)), 0);
    if (version === '0.4.0') assert.equal(ip.version, String(isIP(String(ip.address).split('/')[0] ?? '')));
    else assert.equal(ip.version, undefined);
  }
  for (const r of (doc.routes ?? []) as Record<string, unknown>[]) assert.ok(isCidr(r.dst));
}

function assertSpecError(doc: Record<string, unknown>): void {
  for (const k of Object.keys(doc))
    assert.ok(['cniVersion', 'code', 'msg', 'details'].includes(k), `key ${k}`);
  assert.ok(VERSIONS.includes(doc.cniVersion as string), `cniVersion ${String(doc.cniVersion)}`);
  assert.ok(KNOWN_CODES.has(doc.code as number), `code ${String(doc.code)}`);
  assert.equal(typeof doc.msg, 'string');
  assert.ok((doc.msg as string).length > 0);
  if (doc.details !== undefined) assert.equal(typeof doc.details, 'string');
}

/** Outcomes seen, so the fuzz test can show it reached both successes and each kind of failure. */
const seen = new Map<string, number>();
const count = (k: string) => seen.set(k, (seen.get(k) ?? 0) + 1);

async function check(inv: Invocation): Promise<void> {
  const c = build(inv);
  const writes: string[] = [];
  const code = await runPlugin({
    env: c.env,
    stdin: c.stdin,
    verbs: c.verbs,
    stdout: { write: (s) => writes.push(s) },
    openLog: () => createLogger({ component: 'fuzz', sink: () => {} }),
    hostname: 'node1',
  });
  assert.ok(code === 0 || code === 1, `exit code ${code}`);
  assert.ok(writes.length <= 1, 'at most one document');
  const out = writes[0];
  if (out !== undefined) {
    assert.ok(out.endsWith('\n') && !out.slice(0, -1).includes('\n'), 'one line');
    assert.doesNotMatch(out, STACK_TRACE);
  }
  const doc = out === undefined ? undefined : (JSON.parse(out) as Record<string, unknown>);
  const command = c.env.CNI_COMMAND;

  if (code !== 0) {
    assert.ok(doc, 'a failure prints an error');
    assertSpecError(doc);
    count(`code ${String(doc.code)}`);
    if (!COMMANDS.includes(command as (typeof COMMANDS)[number])) assert.equal(doc.code, 4);
    if (command === 'STATUS' && inv.verb.kind === 'not-ready' && doc.code === 51)
      assert.equal(doc.msg, 'limited');
    return;
  }
  count(`ok ${String(command)}`);
  if (command === 'VERSION') {
    assert.deepEqual(doc, { cniVersion: '1.1.0', supportedVersions: VERSIONS });
  } else if (command === 'ADD') {
    assert.ok(doc, 'ADD prints a result');
    assertSpecResult(doc, String(c.configVersion));
  } else {
    assert.equal(doc, undefined, `${String(command)} prints nothing on success`);
    assert.ok(['DEL', 'CHECK', 'STATUS', 'GC'].includes(String(command)));
  }
  assert.notEqual(inv.verb.kind === 'throw' && command !== 'VERSION', true, 'a throwing verb cannot succeed');
}

/**
 * Cases per run: 1,200 in the default suite; `npm run fuzz` runs 10,000 (NNET_FUZZ_CASES). The
 * seed is printed before anything is asserted; NNET_FUZZ_SEED replays a run.
 */
const CASES = Number(process.env.NNET_FUZZ_CASES) || 1200;
const SEED = Number(process.env.NNET_FUZZ_SEED) || randomInt(1, 2 ** 31);
process.stdout.write(`cni fuzz: ${CASES} cases, seed ${SEED} (NNET_FUZZ_SEED=${SEED} replays it)\n`);

test(`fuzz: ${CASES} random and mutated invocations all end in a spec result or a spec error`, async (t) => {
  t.diagnostic(`seed ${SEED}`);
  seen.clear();
  const started = Date.now();
  try {
    await fc.assert(fc.asyncProperty(invocation, check), { numRuns: CASES, seed: SEED });
  } catch (e) {
    throw new Error(`cni fuzz failed; reproduce with NNET_FUZZ_SEED=${SEED}: ${(e as Error).message}`);
  }
  process.stdout.write(
    `cni fuzz: ${CASES} cases passed in ${Math.round((Date.now() - started) / 1000)} s, seed ${SEED}\n`,
  );
  t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
  // The generators must reach deep enough to matter: successes of every command and the main
  // failure classes (bad env, undecodable stdin, bad version, bad config, verb failures).
  for (const c of COMMANDS) assert.ok((seen.get(`ok ${c}`) ?? 0) > 0, `no successful ${c}`);
  for (const code of [1, 4, 6, 7, 100])
    assert.ok((seen.get(`code ${code}`) ?? 0) > 0, `never saw code ${code}`);
});

test('fuzz: unmutated valid invocations of every command succeed', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...COMMANDS), fc.constantFrom(...VERSIONS), async (command, version) => {
      const c = build({
        command,
        version,
        envMutations: [],
        configMutations: [],
        stdin: { kind: 'as-is' },
        verb: { kind: 'ok' },
      });
      const writes: string[] = [];
      const code = await runPlugin({
        env: c.env,
        stdin: c.stdin,
        verbs: c.verbs,
        stdout: { write: (s) => writes.push(s) },
        openLog: () => createLogger({ component: 'fuzz', sink: () => {} }),
        hostname: 'node1',
      });
      const needs11 = command === 'GC' || command === 'STATUS';
      if (needs11 && version !== '1.1.0') {
        assert.equal(code, 1);
        assert.equal(JSON.parse(writes[0]!).code, 1);
      } else assert.equal(code, 0, writes.join(''));
    }),
    { numRuns: 60, seed: SEED },
  );
});
