import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NeutronError, PlugError, StoreError } from '../errors/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import {
  type AddRequest,
  type CheckRequest,
  type DelRequest,
  type GcRequest,
  runPlugin,
  type Verbs,
} from './main.ts';
import { attachmentResult } from './result.ts';
import type { CniResult } from './spec.ts';

const ATTACH = { CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/run/netns/p1', CNI_IFNAME: 'eth0' };
const ARGS = 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_UID=0b9f5b0c';
const CONF = { cniVersion: '1.1.0', name: 'pods', type: 'nnet', cluster: 'prod' };

const OURS: CniResult = attachmentResult({
  ifname: 'eth0',
  mac: 'fa:16:3e:00:00:01',
  mtu: 1450,
  sandbox: '/run/netns/p1',
  addresses: [{ ip: '1.2.0.100', prefixLength: 16, gateway: '1.2.0.1' }],
  routes: [{ dst: '0.0.0.0/0', gw: '1.2.0.1' }],
});

interface Calls {
  add: AddRequest[];
  del: DelRequest[];
  check: CheckRequest[];
  status: number;
  gc: GcRequest[];
}

function fakeVerbs(overrides: Partial<Verbs> = {}): { verbs: Verbs; calls: Calls } {
  const calls: Calls = { add: [], del: [], check: [], status: 0, gc: [] };
  const verbs: Verbs = {
    add: async (r) => {
      calls.add.push(r);
      return OURS;
    },
    del: async (r) => {
      calls.del.push(r);
    },
    check: async (r) => {
      calls.check.push(r);
    },
    status: async () => {
      calls.status++;
      return undefined;
    },
    gc: async (r) => {
      calls.gc.push(r);
    },
    ...overrides,
  };
  return { verbs, calls };
}

interface Run {
  code: number;
  writes: string[];
  logs: Record<string, unknown>[];
  json: Record<string, unknown> | undefined;
}

async function run(
  env: Record<string, string | undefined>,
  stdin: unknown,
  verbs: Verbs | (() => Promise<Verbs>) = fakeVerbs().verbs,
): Promise<Run> {
  const writes: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const openLog = (): Logger =>
    createLogger({ component: 'cni', level: 'debug', sink: (line) => logs.push(JSON.parse(line)) });
  const code = await runPlugin({
    env,
    stdin: typeof stdin === 'function' ? (stdin as () => Promise<string>) : JSON.stringify(stdin),
    verbs,
    stdout: { write: (s) => writes.push(s) },
    openLog,
    hostname: 'node1',
  });
  assert.ok(writes.length <= 1, `at most one write, got ${writes.length}`);
  return { code, writes, logs, json: writes[0] === undefined ? undefined : JSON.parse(writes[0]) };
}

test('VERSION prints the supported versions without reading stdin or loading the verbs', async () => {
  const r = await run(
    { CNI_COMMAND: 'VERSION' },
    async () => assert.fail('stdin read'),
    async () => assert.fail('verbs loaded'),
  );
  assert.equal(r.code, 0);
  assert.deepEqual(r.json, { cniVersion: '1.1.0', supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });
});

test('ADD hands the verb typed values and prints its result in the config version', async () => {
  for (const cniVersion of ['0.4.0', '1.0.0', '1.1.0']) {
    const { verbs, calls } = fakeVerbs();
    const r = await run(
      { CNI_COMMAND: 'ADD', ...ATTACH, CNI_ARGS: ARGS, CNI_PATH: '/opt/cni/bin' },
      { ...CONF, cniVersion, runtimeConfig: { ips: ['1.2.0.100/16'] } },
      verbs,
    );
    assert.equal(r.code, 0, r.writes.join(''));
    assert.equal(r.json?.cniVersion, cniVersion);
    assert.deepEqual(r.json?.interfaces, [
      cniVersion === '1.1.0'
        ? { name: 'eth0', mac: 'fa:16:3e:00:00:01', mtu: 1450, sandbox: '/run/netns/p1' }
        : { name: 'eth0', mac: 'fa:16:3e:00:00:01', sandbox: '/run/netns/p1' },
    ]);
    const req = calls.add[0]!;
    assert.equal(req.containerId, 'c0ffee');
    assert.equal(req.netns, '/run/netns/p1');
    assert.equal(req.ifname, 'eth0');
    assert.deepEqual(req.cniPath, ['/opt/cni/bin']);
    assert.equal(req.args.podNamespace, 'default');
    assert.equal(req.args.podName, 'web-0');
    assert.equal(req.conf.cluster, 'prod');
    assert.equal(req.conf.nodeName, 'node1');
    assert.deepEqual(req.conf.runtimeConfig.ips, [{ ip: '1.2.0.100', version: 4, prefixLength: 16 }]);
    assert.equal(req.signal.aborted, false);
    assert.ok(req.deadline > Date.now());
  }
});

test('ADD in a chain passes the prevResult on with our interface appended', async () => {
  const prevResult = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'lo', sandbox: '/run/netns/p1' }],
    ips: [{ address: '127.0.0.1/8', interface: 0 }],
  };
  const r = await run({ CNI_COMMAND: 'ADD', ...ATTACH }, { ...CONF, cniVersion: '1.0.0', prevResult });
  assert.equal(r.code, 0);
  const json = r.json as { interfaces: { name: string }[]; ips: { interface: number }[] };
  assert.deepEqual(
    json.interfaces.map((i) => i.name),
    ['lo', 'eth0'],
  );
  assert.deepEqual(
    json.ips.map((i) => i.interface),
    [0, 1],
  );
});

test('DEL, CHECK, STATUS and GC print nothing and exit 0 on success', async () => {
  const prevResult = { interfaces: [{ name: 'eth0', sandbox: '/run/netns/p1' }], ips: [] };
  const { verbs, calls } = fakeVerbs();
  const cases: [Record<string, string>, Record<string, unknown>][] = [
    [{ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c0ffee', CNI_IFNAME: 'eth0' }, CONF],
    [
      { CNI_COMMAND: 'DEL', ...ATTACH },
      { ...CONF, prevResult },
    ],
    [
      { CNI_COMMAND: 'CHECK', ...ATTACH },
      { ...CONF, prevResult },
    ],
    [{ CNI_COMMAND: 'STATUS' }, CONF],
    [
      { CNI_COMMAND: 'GC' },
      { ...CONF, 'cni.dev/valid-attachments': [{ containerID: 'c0ffee', ifname: 'eth0' }] },
    ],
  ];
  for (const [env, conf] of cases) {
    const r = await run(env, conf, verbs);
    assert.equal(r.code, 0, `${env.CNI_COMMAND}: ${r.writes.join('')}`);
    assert.deepEqual(r.writes, []);
  }
  assert.equal(calls.del[0]!.netns, undefined);
  assert.equal(calls.del[0]!.prevResult, undefined);
  assert.equal(calls.del[1]!.prevResult?.interfaces[0]?.name, 'eth0');
  assert.equal(calls.check[0]!.prevResult.interfaces[0]?.name, 'eth0');
  assert.equal(calls.status, 1);
  assert.deepEqual(calls.gc[0]!.validAttachments, [{ containerId: 'c0ffee', ifname: 'eth0' }]);
});

test('a verb failure prints the mapped error in the config version and exits 1', async () => {
  const cases: [unknown, number][] = [
    [new NeutronError('ip-taken', 'IP 1.2.0.100 is held by port p-1 (pod default/other)'), 101],
    [new StoreError('not-registered', 'cluster "prod" is not registered'), 103],
    [new PlugError('netns-missing', 'netns /run/netns/p1 does not exist'), 3],
    [new NeutronError('unavailable', 'Neutron at http://127.0.0.1:9696 refused the connection'), 11],
    [new Error('kaboom'), 100],
    ['a thrown string', 100],
    [undefined, 100],
  ];
  for (const [thrown, code] of cases) {
    const { verbs } = fakeVerbs({
      add: async () => {
        throw thrown;
      },
    });
    const r = await run({ CNI_COMMAND: 'ADD', ...ATTACH }, { ...CONF, cniVersion: '1.0.0' }, verbs);
    assert.equal(r.code, 1);
    assert.equal(r.json?.code, code, String(thrown));
    assert.equal(r.json?.cniVersion, '1.0.0');
    assert.equal(typeof r.json?.msg, 'string');
    assert.doesNotMatch(r.writes[0]!, /\n.+/, 'one line');
    assert.doesNotMatch(r.writes[0]!, /main\.test\.ts|\bat async\b/);
    const logged = r.logs.find((l) => l.level === 'error');
    assert.equal(logged?.code, code, 'the failure is logged');
    if (code === 100 && thrown instanceof Error) assert.match(String(logged?.stack), /main\.test\.ts/);
  }
});

test('ADD with a verb result that breaks the spec fails with 100 instead of printing it', async () => {
  const { verbs } = fakeVerbs({
    add: async () => ({ ...OURS, ips: [{ address: '1.2.0.100', interface: 0 }] }),
  });
  const r = await run({ CNI_COMMAND: 'ADD', ...ATTACH }, CONF, verbs);
  assert.equal(r.code, 1);
  assert.equal(r.json?.code, 100);
  assert.match(String(r.json?.msg), /invalid CNI result/);
});

test('STATUS: a returned 51 is printed as 51; a thrown error is 50', async () => {
  const limited = fakeVerbs({
    status: async () => ({ code: 51, msg: 'ovs-vswitchd restarted; pods are being re-plugged' }),
  }).verbs;
  const r51 = await run({ CNI_COMMAND: 'STATUS' }, CONF, limited);
  assert.equal(r51.code, 1);
  assert.deepEqual(r51.json, {
    cniVersion: '1.1.0',
    code: 51,
    msg: 'ovs-vswitchd restarted; pods are being re-plugged',
  });
  const down = fakeVerbs({
    status: async () => {
      throw new NeutronError('unavailable', 'Neutron is down');
    },
  }).verbs;
  const r50 = await run({ CNI_COMMAND: 'STATUS' }, CONF, down);
  assert.equal(r50.json?.code, 50);
  assert.equal(r50.json?.msg, 'Neutron is down');
});

test('a verb that outlives timeouts.totalMs gets code 11 and an aborted signal', async () => {
  let seen: AbortSignal | undefined;
  const { verbs } = fakeVerbs({
    add: (r) => {
      seen = r.signal;
      return new Promise<CniResult>(() => {});
    },
  });
  const r = await run({ CNI_COMMAND: 'ADD', ...ATTACH }, { ...CONF, timeouts: { totalMs: 30 } }, verbs);
  assert.equal(r.code, 1);
  assert.equal(r.json?.code, 11);
  assert.match(String(r.json?.msg), /timed out after 30 ms/);
  assert.equal(seen?.aborted, true);
});

test('failures before the verb: stdin unreadable (5), bad env (4), verbs failing to load (100)', async () => {
  const io = await run({ CNI_COMMAND: 'ADD', ...ATTACH }, async () => {
    throw new Error('EIO: i/o error, read');
  });
  assert.equal(io.json?.code, 5);

  const env = await run({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee' }, { ...CONF, cniVersion: '0.4.0' });
  assert.equal(env.json?.code, 4);
  assert.equal(env.json?.cniVersion, '0.4.0', 'the error speaks the config version');
  assert.match(String(env.json?.msg), /CNI_NETNS.*CNI_IFNAME/);

  const both = await runPlugin({
    env: { CNI_COMMAND: 'DEL' },
    stdin: '{not json',
    verbs: fakeVerbs().verbs,
    stdout: { write: (s) => env.writes.push(s) },
    openLog: () => createLogger({ component: 'cni' }),
  });
  assert.equal(both, 1);
  assert.equal(JSON.parse(env.writes.at(-1)!).code, 4, 'a bad environment is reported before a bad config');

  const missingCommand = await run({}, CONF);
  assert.equal(missingCommand.json?.code, 4);
  assert.equal(missingCommand.json?.cniVersion, '1.1.0');

  const load = await run({ CNI_COMMAND: 'ADD', ...ATTACH }, CONF, async () => {
    throw new Error('Cannot find module verbs');
  });
  assert.equal(load.json?.code, 100);
});

test('a stdout that throws does not turn into an exception, and the exit code says it failed', async () => {
  const code = await runPlugin({
    env: { CNI_COMMAND: 'VERSION' },
    stdin: '',
    verbs: fakeVerbs().verbs,
    stdout: {
      write: () => {
        throw new Error('EPIPE');
      },
    },
  });
  assert.equal(code, 1);
  const failed = await runPlugin({
    env: { CNI_COMMAND: 'ADD' },
    stdin: 'not json',
    verbs: fakeVerbs().verbs,
    stdout: {
      write: () => {
        throw new Error('EPIPE');
      },
    },
    openLog: () => createLogger({ component: 'cni' }),
  });
  assert.equal(failed, 1);
});

test('logs go to the log the config names, never to stdout', async () => {
  const opened: string[] = [];
  const writes: string[] = [];
  const code = await runPlugin({
    env: { CNI_COMMAND: 'ADD', ...ATTACH, CNI_ARGS: ARGS },
    stdin: JSON.stringify({ ...CONF, logFile: '/tmp/nnet-test-never-written.log', logLevel: 'debug' }),
    verbs: fakeVerbs({
      add: async (r) => {
        r.log.info('verb says hello');
        return OURS;
      },
    }).verbs,
    stdout: { write: (s) => writes.push(s) },
    openLog: (file, level) => {
      opened.push(`${file} ${level}`);
      return createLogger({ component: 'cni', sink: () => {} });
    },
  });
  assert.equal(code, 0);
  assert.deepEqual(opened, ['/tmp/nnet-test-never-written.log debug']);
  assert.equal(writes.length, 1);
  assert.doesNotMatch(writes[0]!, /hello/);
});

test('logFile "/dev/stdout" is code 7, and the error is logged to the fallback file, never to stdout', async () => {
  for (const [env, code] of [
    [{ CNI_COMMAND: 'ADD', ...ATTACH, CNI_ARGS: ARGS }, 7],
    // A bad environment is reported first; its log line must not go where the config said either.
    [{ CNI_COMMAND: 'ADD', ...ATTACH, CNI_IFNAME: 'eth0#x', CNI_ARGS: ARGS }, 4],
  ] as const) {
    const opened: string[] = [];
    const writes: string[] = [];
    const { verbs, calls } = fakeVerbs();
    const exit = await runPlugin({
      env,
      stdin: JSON.stringify({ ...CONF, logFile: '/dev/stdout' }),
      verbs,
      stdout: { write: (s) => writes.push(s) },
      fallbackLogFile: '/tmp/nnet-test-fallback.log',
      openLog: (file) => {
        opened.push(file);
        return createLogger({ component: 'cni', sink: () => {} });
      },
    });
    assert.equal(exit, 1);
    assert.equal(writes.length, 1);
    const doc = JSON.parse(writes[0]!);
    assert.equal(doc.code, code, doc.msg);
    if (code === 7) assert.match(doc.msg, /field "logFile" must be a regular file outside \/dev/);
    if (code === 4) assert.match(doc.msg, /CNI_IFNAME "eth0#x"/);
    assert.deepEqual(opened, ['/tmp/nnet-test-fallback.log']);
    assert.equal(calls.add.length, 0, 'no verb ran');
  }
});
