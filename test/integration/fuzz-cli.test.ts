/**
 * Fuzzing kubenetctl. (1) Property-based, pure: random and mutated argument lists go through the
 * parser (parseCommandLine, used read-only); it must return a classification or throw InputError,
 * nothing else. (2) Real services: the built kubenetctl runs random and mutated network commands
 * against the real Keystone/Neutron with a temporary store; a command that fails must leave
 * nothing behind, and at the end everything the successful ones made is deleted through
 * kubenetctl itself: no Neutron resource with our prefix, no store row.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { parseCommandLine } from '../../src/cli/index.ts';
import { InputError } from '../../src/errors/index.ts';
import type { NeutronClient } from '../../src/neutron/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { adminNeutron } from '../support/cluster.ts';
import { ensureEnv, PROJECT_ROOT, type TestEnv } from '../support/env.ts';
import { createStandin, type Standin } from '../support/kubectl-standin/index.ts';
import { sweepCluster } from '../support/kubenetctl.ts';

const KUBENETCTL = join(PROJECT_ROOT, 'dist/kubenetctl.js');
const summary = { parserCases: 0, cliCases: 0, cliFailed: 0, leaks: 0 };
after(() =>
  console.log(
    `reliability(fuzz-cli): parser-cases=${summary.parserCases} cli-cases=${summary.cliCases} cli-failed=${summary.cliFailed} leaks=${summary.leaks}`,
  ),
);

// ---- Building blocks for argument lists.

type Mutation = readonly [
  op: 'drop' | 'dup' | 'swap' | 'replace' | 'insert' | 'cut',
  at: number,
  token: string,
];

function mutate(tokens: readonly string[], mutations: readonly Mutation[]): string[] {
  const t = [...tokens];
  for (const [op, at, token] of mutations) {
    const i = t.length === 0 ? 0 : at % t.length;
    if (op === 'drop') t.splice(i, 1);
    else if (op === 'dup') t.splice(i, 0, t[i] ?? token);
    else if (op === 'swap' && i + 1 < t.length) [t[i], t[i + 1]] = [t[i + 1]!, t[i]!];
    else if (op === 'replace') t[i] = token;
    else if (op === 'insert') t.splice(i, 0, token);
    else if (op === 'cut') t.length = i;
  }
  return t;
}

const mutationArb = (token: fc.Arbitrary<string>) =>
  fc.array(
    fc.tuple(
      fc.constantFrom('drop', 'dup', 'swap', 'replace', 'insert', 'cut') as fc.Arbitrary<Mutation[0]>,
      fc.nat(),
      token,
    ),
    { maxLength: 3 },
  );

// ---- (1) The parser, pure.

const VERBS = ['get', 'describe', 'create', 'delete', 'connect', 'disconnect', 'gc', 'run', 'apply', 'help'];
const MORE_WORDS = ['version', 'logs', 'exec', 'config', 'view', 'pods', 'pod', 'svc', 'deployment'];
const NOUNS = ['network', 'networks', 'net', 'subnet', 'subnets', 'router', 'routers', 'cluster', 'clusters'];
const NOUNS2 = ['podnetwork', 'podnetworks', 'podnet', 'networks.config.openshift.io', 'pods,networks'];
const FLAGS = [
  '--network',
  '--subnet',
  '--ip',
  '--mtu',
  '--cidr',
  '--gateway',
  '--no-gateway',
  '--allocation-pool',
  '--dns',
  '--no-dhcp',
  '--cluster',
  '--namespace',
  '-n',
  '-o',
  '--output',
  '-A',
  '--all-namespaces',
  '--dry-run',
  '--dry-run=client',
  '--image=nginx',
  '--rm',
  '-it',
  '--context',
  '--kubeconfig',
  '-f',
  '--filename',
  '-R',
  '--cloud',
  '--auth-url',
  '--password',
  '--secret-stdin',
  '--secret-file',
  '--region',
  '--interface',
  '-h',
  '--help',
  '-v',
  '--',
  '-',
  '--=',
  '---x',
  '--ip=',
  '--subnet=1.2.0.0/16',
  '--ip=1.2.0.100',
  '-n=team-a',
];
const VALUES = [
  'pod1',
  'team-a',
  '1.2.0.0/16',
  '1.2.0.100',
  '1.2.0.0/33',
  '999.1.1.1',
  'fd00::/64',
  'fd00::5',
  '1.2.0.50-1.2.0.9',
  'json',
  'yaml',
  'wide',
  'name',
  'table',
  'x'.repeat(300),
  '',
  ' ',
  'ñame',
  '💥',
  'a b',
  '=',
  '-1',
  '0',
  '70000',
  'http://keystone:5000/v3',
  '/tmp/x.yaml',
  'public',
  'true',
  'false',
];
const EXAMPLES: string[][] = [
  ['run', 'pod1', '--image=nginx', '--subnet=1.2.0.0/16', '--ip=1.2.0.100', '-n', 'team-a'],
  ['create', 'network', 'pods', '--mtu', '1450'],
  [
    'create',
    'subnet',
    'pods-a',
    '--network',
    'pods',
    '--cidr',
    '1.2.0.0/16',
    '--allocation-pool',
    '1.2.0.10-1.2.0.20',
  ],
  ['create', 'router', 'r1'],
  ['connect', 'router', 'r1', '--subnet', 'pods-a'],
  ['disconnect', 'router', 'r1', '--subnet', 'pods-a'],
  ['create', 'podnetwork', 'pod1', '--subnet', 'pods-a', '--ip', '1.2.0.100', '-n', 'team-a'],
  ['create', 'cluster', 'c1', '--cloud', 'prod'],
  ['get', 'networks', '-o', 'wide'],
  ['get', 'podnetworks', '-A', '-o', 'json'],
  ['describe', 'subnet', 'pods-a'],
  ['delete', 'network', 'pods', 'pods2'],
  ['delete', 'pod', 'pod1', '-n', 'team-a'],
  ['apply', '-f', '/tmp/pod.yaml'],
  ['gc', '--dry-run'],
  ['help', 'create', 'subnet'],
  ['--context', 'kind', 'get', 'pods'],
  ['version', '-o', 'json'],
];
const vocab = fc.constantFrom(...VERBS, ...MORE_WORDS, ...NOUNS, ...NOUNS2, ...FLAGS, ...VALUES);
const anyToken = fc.oneof(
  { weight: 6, arbitrary: vocab },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(...FLAGS), fc.constantFrom(...VALUES)).map(([f, v]) => `${f}=${v}`),
  },
);

/** Whether `sub` appears in `all` in order (kubectl's part must be the user's words, unchanged). */
function isSubsequence(sub: readonly string[], all: readonly string[]): boolean {
  let i = 0;
  for (const a of all) if (i < sub.length && sub[i] === a) i++;
  return i === sub.length;
}

function checkParse(argv: string[]): void {
  summary.parserCases += 1;
  let r: ReturnType<typeof parseCommandLine>;
  try {
    r = parseCommandLine(argv);
  } catch (e) {
    if (e instanceof InputError) {
      assert.ok(e.message.length > 0, 'an InputError says what is wrong');
      return;
    }
    throw e;
  }
  assert.ok(r !== null && typeof r === 'object', 'a classification');
  assert.ok(r.native === null || (Array.isArray(r.native) && r.native.every((a) => typeof a === 'string')));
  assert.ok(r.network === null || (typeof r.network === 'object' && typeof r.network.kind === 'string'));
  assert.ok(r.native !== null || r.network !== null, 'something to do');
  if (r.native)
    assert.ok(isSubsequence(r.native, argv), `kubectl's part is the user's words: ${JSON.stringify(r)}`);
}

/** The seed of a randomized test, printed before anything is asserted. */
function fuzzSeed(what: string): number {
  const seed = Number(process.env.NNTA_FUZZ_SEED ?? randomInt(1, 2 ** 31));
  console.log(`fuzz-cli ${what}: seed ${seed} (NNTA_FUZZ_SEED=${seed} replays it)`);
  return seed;
}

test('the parser classifies or rejects (InputError) 1,200 random and mutated kubenetctl command lines, nothing else', () => {
  const seed = fuzzSeed('parser');
  const report = (name: string, arb: fc.Arbitrary<string[]>) => {
    try {
      fc.assert(
        fc.property(arb, (argv) => checkParse(argv)),
        { numRuns: 600, seed, endOnFailure: true },
      );
    } catch (e) {
      throw new Error(
        `parser fuzz (${name}) failed; reproduce with NNTA_FUZZ_SEED=${seed}: ${(e as Error).message}`,
      );
    }
  };
  report('random', fc.array(anyToken, { maxLength: 14 }));
  report(
    'mutated',
    fc
      .tuple(fc.constantFrom(...EXAMPLES), mutationArb(anyToken))
      .map(([line, mutations]) => mutate(line, mutations)),
  );
  assert.ok(summary.parserCases >= 1200, `${summary.parserCases} cases`);
});

// ---- (2) The built kubenetctl against the real Neutron.

interface Snapshot {
  /**
   * "network:ID NAME", "subnet:ID NAME", "router:ID NAME", "port:ID": everything tagged with our
   * cluster or named with our prefix. Not by name alone: a mutated line such as `create network 💥`
   * (or `-`, `=`) succeeds with a name outside the prefix.
   */
  names: Set<string>;
  /** The store's rows: "network/ID NAME", "podnetwork NS/POD", "attachment ID". */
  rows: string[];
}

describe('the built kubenetctl under random and mutated network commands (real Keystone/Neutron)', () => {
  let env: TestEnv;
  let dir: string;
  let store: Store;
  let neutron: NeutronClient;
  let standin: Standin;
  const tag = randomBytes(3).toString('hex');
  const prefix = `nnta-fz${tag}`;
  const cluster = `${prefix}-c`;
  const base = randomInt(0, 60) * 4; // 198.18.<base..base+3>.0/24: a range no other test uses
  let cliEnv: Record<string, string>;

  before(async () => {
    env = ensureEnv();
    dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
    store = await openStore(`sqlite:${dir}/nnet.db`);
    const o = env.osEnv;
    await store.clusters.put({
      name: cluster,
      authUrl: env.keystoneUrl,
      region: env.region,
      credentials: {
        type: 'password',
        username: o.OS_USERNAME!,
        userDomain: o.OS_USER_DOMAIN_ID ?? 'default',
        password: o.OS_PASSWORD!,
        projectName: o.OS_PROJECT_NAME!,
        projectDomain: o.OS_PROJECT_DOMAIN_ID ?? 'default',
      },
    });
    neutron = adminNeutron(env, join(dir, 'admin-tokens'));
    standin = createStandin();
    cliEnv = {
      // The user's OpenStack credentials (kubenetctl finds them as the openstack CLI does).
      ...env.osEnv,
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      NNET_STORE: `sqlite:${dir}/nnet.db`,
      NNET_CLUSTER: cluster,
      NNET_TOKEN_CACHE_DIR: join(dir, 'tokens'),
      ...standin.env,
    };
  });

  after(async () => {
    // Whatever the test found, the env is left clean.
    await cleanupDirectly().catch(() => undefined);
    await store?.close();
    standin?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const mine = (name: string | undefined) => !!name?.startsWith(prefix);

  async function snapshot(): Promise<Snapshot> {
    const tags = [`nnet-cluster=${cluster}`];
    const ours = <T extends { id: string; name: string }>(tagged: T[], all: T[]) => {
      const found = new Map(tagged.map((x) => [x.id, x]));
      for (const x of all) if (mine(x.name)) found.set(x.id, x);
      return [...found.values()];
    };
    const [nets, subs, routers, ports] = await Promise.all([
      Promise.all([neutron.networks.list({ tags }), neutron.networks.list({})]).then(([t, a]) => ours(t, a)),
      Promise.all([neutron.subnets.list({ tags }), neutron.subnets.list({})]).then(([t, a]) => ours(t, a)),
      Promise.all([neutron.routers.list({ tags }), neutron.routers.list({})]).then(([t, a]) => ours(t, a)),
      neutron.ports.list({ tags }),
    ]);
    const names = new Set([
      ...nets.map((n) => `network:${n.id} ${n.name}`),
      ...subs.map((s) => `subnet:${s.id} ${s.name}`),
      ...routers.map((r) => `router:${r.id} ${r.name}`),
      ...ports.map((p) => `port:${p.id}`),
    ]);
    const rows = [
      ...(await store.resources.list({})).map((r) => `${r.kind}/${r.id} ${r.name}`),
      ...(await store.podConfigs.list({})).map((c) => `podnetwork ${c.namespace}/${c.pod}`),
      ...(await store.attachments.list({})).map((a) => `attachment ${a.containerId}`),
    ];
    return { names, rows };
  }

  async function cleanupDirectly(): Promise<void> {
    // Everything tagged with our cluster; then anything named with our prefix but not tagged.
    await sweepCluster(neutron, cluster);
    for (const r of (await neutron.routers.list({})).filter((x) => mine(x.name))) {
      for (const p of await neutron.ports.list({ deviceId: r.id }))
        for (const f of p.fixedIps)
          await neutron.routers.removeInterface(r.id, { subnetId: f.subnetId }).catch(() => undefined);
      await neutron.routers.ensureDeleted(r.id);
    }
    for (const s of (await neutron.subnets.list({})).filter((x) => mine(x.name))) {
      for (const p of await neutron.ports.list({ networkId: s.networkId }))
        await neutron.ports.ensureDeleted(p.id);
      await neutron.subnets.ensureDeleted(s.id);
    }
    for (const n of (await neutron.networks.list({})).filter((x) => mine(x.name)))
      await neutron.networks.ensureDeleted(n.id);
  }

  function kubenetctl(argv: string[]) {
    const r = spawnSync(process.execPath, [KUBENETCTL, ...argv], {
      encoding: 'utf8',
      env: cliEnv,
      input: '',
      timeout: 30_000,
    });
    return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Network commands over our own names and our own address range only. */
  function commandArb(): fc.Arbitrary<string[]> {
    const idx = fc.integer({ min: 0, max: 2 });
    const net = idx.map((i) => `${prefix}-n${i}`);
    const sub = idx.map((i) => `${prefix}-s${i}`);
    const rtr = idx.map((i) => `${prefix}-r${i}`);
    const pod = idx.map((i) => `${prefix}-p${i}`);
    const cidr = idx.map((i) => `198.18.${base + i}.0/24`);
    const ip = fc.tuple(idx, fc.integer({ min: 2, max: 254 })).map(([i, h]) => `198.18.${base + i}.${h}`);
    const subRef = fc.oneof(sub, cidr);
    const opt = (a: fc.Arbitrary<string[]>) => fc.option(a, { nil: [] as string[] });
    const noun = fc.constantFrom(
      'network',
      'subnet',
      'router',
      'podnetwork',
      'networks',
      'subnets',
      'podnetworks',
    );
    const anyName = fc.oneof(net, sub, rtr, pod);
    const junk = fc.constantFrom(
      '-',
      '--',
      '=',
      '-o',
      '--output=wide',
      '--mtu=-1',
      '--mtu=99999999',
      '--ip=999.1.1.1',
      '--cidr=198.18.0.0/33',
      '--gateway',
      '--no-dhcp',
      '--dry-run',
      '💥',
      'x'.repeat(300),
      `${prefix}-zz`,
      '--namespace=nnta-ns',
      '-A',
      '--subnet',
      '--network',
      '--cluster=nnta-nobody',
    );
    const valid = fc.oneof(
      fc
        .tuple(net, opt(fc.integer({ min: 1280, max: 9000 }).map((m) => ['--mtu', String(m)])))
        .map(([n, o]) => ['create', 'network', n, ...o]),
      fc
        .tuple(sub, net, cidr, opt(fc.constant(['--no-dhcp'])), opt(ip.map((g) => ['--gateway', g])))
        .map(([s, n, c, d, g]) => ['create', 'subnet', s, '--network', n, '--cidr', c, ...d, ...g]),
      rtr.map((r) => ['create', 'router', r]),
      fc
        .tuple(pod, subRef, opt(ip.map((i) => ['--ip', i])))
        .map(([p, s, i]) => ['create', 'podnetwork', p, '--subnet', s, ...i, '-n', 'nnta-ns']),
      fc
        .tuple(fc.constantFrom('connect', 'disconnect'), rtr, sub)
        .map(([v, r, s]) => [v, 'router', r, '--subnet', s]),
      fc
        .tuple(fc.constantFrom('get', 'describe'), noun, opt(anyName.map((n) => [n])))
        .map(([v, n, x]) => [v, n, ...x]),
      fc
        .tuple(noun, anyName)
        .map(([n, x]) => ['delete', n, x, ...(n.startsWith('pod') ? ['-n', 'nnta-ns'] : [])]),
      opt(fc.constant(['--dry-run'])).map((d) => ['gc', ...d]),
    );
    return fc
      .tuple(
        valid,
        fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 3, arbitrary: mutationArb(junk) }),
      )
      .map(([line, m]) => mutate(line, m as Mutation[]));
  }

  test('52 cases: every run ends with exit 0 or 1, no stack, no secret; a failed command leaves nothing; deleting what succeeded leaves nothing', async () => {
    const seed = fuzzSeed('cli');
    const cases = fc.sample(commandArb(), { numRuns: 52, seed });
    const password = env.osEnv.OS_PASSWORD!;
    let prev = await snapshot();
    const started = Date.now();
    for (const argv of cases) {
      const r = kubenetctl(argv);
      const what = `kubenetctl ${argv.join(' ')} (seed ${seed})`;
      summary.cliCases += 1;
      assert.equal(r.signal, null, `${what} was killed by ${r.signal}`);
      assert.ok(r.code === 0 || r.code === 1, `${what} exited ${r.code}: ${r.stderr}`);
      assert.ok(!/\n\s+at .+:\d+:\d+/.test(r.stderr), `${what} printed a stack: ${r.stderr}`);
      assert.ok(!(r.stdout + r.stderr).includes(password), `${what} printed a secret`);
      const now = await snapshot();
      if (r.code !== 0) {
        summary.cliFailed += 1;
        assert.match(r.stderr, /error|Error|unknown|invalid|usage/i, `${what} failed without saying why`);
        const added = [...now.names].filter((n) => !prev.names.has(n));
        summary.leaks += added.length;
        assert.deepEqual(added, [], `${what} failed but left ${added.join(', ')}`);
        const addedRows = now.rows.filter((r) => !prev.rows.includes(r));
        assert.deepEqual(addedRows, [], `${what} failed but added store rows`);
      }
      prev = now;
    }

    // What the successful commands made, deleted through kubenetctl (by id), dependents first.
    const order = ['port', 'router', 'subnet', 'network'];
    const left = [...prev.names]
      .map((item) => {
        const [kind, rest] = item.split(/:(.*)/s) as [string, string];
        return { kind, id: rest.split(' ')[0]!, item };
      })
      .sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
    for (const pc of await store.podConfigs.list({}))
      kubenetctl(['delete', 'podnetwork', pc.pod, '-n', pc.namespace]);
    const subnetIds = left.filter((x) => x.kind === 'subnet').map((x) => x.id);
    for (const { kind, id, item } of left) {
      if (kind === 'router')
        for (const subnet of subnetIds) kubenetctl(['disconnect', 'router', id, '--subnet', subnet]);
      if (kind !== 'port') {
        const d = kubenetctl(['delete', kind, id]);
        assert.equal(d.code, 0, `kubenetctl delete ${item}: ${d.stderr}`);
      }
    }
    const end = await snapshot();
    summary.leaks += end.names.size + end.rows.length;
    assert.deepEqual([...end.names], [], 'Neutron resources of our cluster or prefix are left');
    assert.deepEqual(end.rows, [], 'store rows are left');
    console.log(
      `fuzz-cli: ${cases.length} cases in ${Math.round((Date.now() - started) / 1000)} s, ${summary.cliFailed} failed as expected, seed ${seed}`,
    );
  });
});
