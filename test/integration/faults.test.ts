/**
 * Faults injected into real processes against the real services, and what N-Net leaves behind
 * afterwards (it must be nothing): nnet-agent SIGKILLed at each step of an ADD it serves, the
 * plugin (the agent's client) killed mid-ADD, Neutron answering 503
 * or dropping connections (through a fault-injecting proxy that Keystone's catalog points the
 * cluster at), Keystone tokens revoked or expired, etcd unreachable, a locked and a corrupt SQLite
 * store, 32 ADDs at once. Neutron stopped for real is in faults-neutron.serial.test.ts.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { listPorts } from '../../src/plug/index.ts';
import { DEVICE_OWNER } from '../../src/resources/index.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import type { HarnessCall, HarnessResult } from '../support/cni.ts';
import { adminToken, PROJECT_ROOT, type TestEnv } from '../support/env.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';

const cid = () => randomBytes(16).toString('hex');
const podArgs = (ns: string, pod: string) => ({ K8S_POD_NAMESPACE: ns, K8S_POD_NAME: pod });

/** Faults injected and survived in this file (printed at the end, recorded in docs/reliability.md). */
const tally = { faults: 0, survived: 0, leaks: 0, parallelAdds: 0 };
after(() =>
  console.log(
    `reliability(faults): faults=${tally.faults} survived=${tally.survived} leaks=${tally.leaks} parallel-adds=${tally.parallelAdds}`,
  ),
);

/** Runs one fault scenario: counted as injected, and as survived when it completes. */
async function fault(fn: () => Promise<void>): Promise<void> {
  tally.faults += 1;
  await fn();
  tally.survived += 1;
}

async function waitFor(what: string, fn: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}`);
}

function ok(r: HarnessResult, what: string): Record<string, unknown> {
  assert.equal(r.code, 0, `${what} failed: ${r.stdout} ${r.stderr}`);
  return r.json ?? {};
}

/** A plugin failure through libcni: the harness exits 2 and prints the plugin's error JSON. */
function failed(r: HarnessResult, code: number, what: string): string {
  assert.equal(r.code, 2, `${what}: expected a plugin error, got ${r.code}: ${r.stdout} ${r.stderr}`);
  assert.equal(r.json?.code, code, `${what}: ${r.stdout}`);
  return String(r.json?.msg);
}

/** What pods of this cluster left: N-Net's Neutron ports on the test network, OVS ports, rows. */
async function leftovers(c: TestCluster) {
  const ports = await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: DEVICE_OWNER });
  return {
    neutron: ports.map((p) => p.id),
    ovs: (await listPorts(c.node.plugSettings())).map((p) => p.name),
    rows: (await c.store.attachments.list({ node: c.name })).map((r) => r.containerId),
  };
}

/** Asserts nothing is left (and that the pods hold nothing but lo); counts what was found. */
async function assertNoLeaks(c: TestCluster, pods: TestNetns[] = []): Promise<void> {
  const l = await leftovers(c);
  const devices = pods.flatMap((p) =>
    p
      .run(['ip', '-br', 'link'])
      .stdout.split('\n')
      .map((x) => x.split(/\s+/)[0]!)
      .filter((n) => n && n !== 'lo'),
  );
  const found = l.neutron.length + l.ovs.length + l.rows.length + devices.length;
  tally.leaks += found;
  // The agent's own log, and its requests' (they go to the plugin's log file).
  const trouble = (lines: Record<string, unknown>[]) =>
    lines
      .filter(
        (x) => x.level === 'warn' || x.level === 'error' || /^undo|unplug|removed OVS/.test(String(x.msg)),
      )
      .slice(-20)
      .map((x) => JSON.stringify(x))
      .join('\n');
  assert.deepEqual(
    { ...l, devices },
    { neutron: [], ovs: [], rows: [], devices: [] },
    found
      ? `leaks; the agent's last warnings and errors:\n${trouble(c.agent.lines())}\nits requests':\n${trouble(requestLog(c))}`
      : 'leaks',
  );
}

function requestLog(c: TestCluster): Record<string, unknown>[] {
  if (!existsSync(c.rt.logFile)) return [];
  return readFileSync(c.rt.logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

function gc(c: TestCluster, valid: HarnessCall[] = []): HarnessResult {
  return c.rt.direct(
    { CNI_COMMAND: 'GC' },
    JSON.stringify({
      ...c.rt.plugin,
      cniVersion: '1.1.0',
      'cni.dev/valid-attachments': valid.map((v) => ({ containerID: v.id, ifname: 'eth0' })),
    }),
  );
}

/** An unused TCP port on 127.0.0.1 (nothing listens there). */
async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

// ---- Keystone, as an admin: tokens, regions and endpoints.

const issueToken = adminToken;

async function keystone(env: TestEnv, admin: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${env.keystoneUrl}${path}`, {
    method,
    headers: { 'x-auth-token': admin, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 300 && !(method === 'DELETE' && res.status === 404))
    throw new Error(`Keystone ${method} ${path}: HTTP ${res.status}`);
  return text ? JSON.parse(text) : undefined;
}

/** The plugin's token cache file (one per credentials) and its content. */
function pluginTokenCache(c: TestCluster): { file: string; data: { token: string; expiresAt: string } } {
  const dir = String(c.rt.plugin.tokenCacheDir);
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.equal(files.length, 1, `token cache files: ${files.join(', ')}`);
  const file = join(dir, files[0]!);
  return { file, data: JSON.parse(readFileSync(file, 'utf8')) };
}

// ---- A fault-injecting HTTP proxy in front of Neutron.

type ProxyMode = 'pass' | '503' | 'drop' | 'fail-after-port-create';

interface NeutronProxy {
  url: string;
  mode: ProxyMode;
  requests: number;
  faulted: number;
  set(mode: ProxyMode): void;
  close(): Promise<void>;
}

async function startNeutronProxy(target: string): Promise<NeutronProxy> {
  const upstream = new URL(target);
  let portCreated = false;
  const proxy: NeutronProxy = {
    url: '',
    mode: 'pass',
    requests: 0,
    faulted: 0,
    set(mode) {
      portCreated = false;
      proxy.mode = mode;
    },
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    proxy.requests += 1;
    const answer503 = () => {
      proxy.faulted += 1;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          NeutronError: { type: 'ServiceUnavailable', message: 'injected by the test proxy', detail: '' },
        }),
      );
    };
    if (proxy.mode === '503' || (proxy.mode === 'fail-after-port-create' && portCreated)) return answer503();
    if (proxy.mode === 'drop') {
      proxy.faulted += 1;
      req.socket.destroy();
      return;
    }
    const isPortCreate = req.method === 'POST' && /^\/v2\.0\/ports\/?(\?|$)/.test(req.url ?? '');
    const up = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (upRes) => {
        if (isPortCreate && upRes.statusCode === 201) portCreated = true;
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return proxy;
}

// ---- The scenarios.

describe('faults on one node (SQLite store)', () => {
  let c: TestCluster;
  const pods: TestNetns[] = [];
  const pod = () => {
    const p = createNetns('nnta');
    pods.push(p);
    return p;
  };
  before(async () => {
    c = await startTestCluster({ prefix: 'nnta', backend: 'sqlite', faulty: true });
  });
  after(async () => {
    for (const p of pods) p.remove();
    await c?.stop();
  });

  test('nnet-agent SIGKILLed after each step of ADD: the ADD fails with code 11, and the restarted agent, DEL and GC leave nothing', async () => {
    // What must exist right after the kill at each step (proof that it died there).
    const expect: Record<string, (l: Awaited<ReturnType<typeof leftovers>>, p: TestNetns) => boolean> = {
      port: (l) => l.neutron.length === 1 && l.ovs.length === 0 && l.rows.length === 0,
      'ovs-port': (l, p) => l.ovs.length === 1 && !/\d+: nn[0-9a-f]{12}/.test(p.run(['ip', 'link']).stdout),
      move: (l, p) =>
        l.ovs.length === 1 && l.rows.length === 0 && /\d+: nn[0-9a-f]{12}/.test(p.run(['ip', 'link']).stdout),
      plug: (l, p) => l.rows.length === 0 && p.run(['ip', 'link', 'show', 'eth0']).code === 0,
      record: (l) => l.rows.length === 1 && l.ovs.length === 1,
    };
    try {
      for (const step of Object.keys(expect)) {
        await fault(async () => {
          const p = pod();
          const call = { id: cid(), netns: p.path, args: podArgs('kill', step) };
          const agent = await c.restartAgent({ env: { NNET_FAULT_KILL_AFTER: step } });
          const msg = failed(c.rt.call('add', call), 11, `ADD while the agent is killed after ${step}`);
          assert.match(msg, /nnet-agent is not running on node .*before answering/, msg);
          assert.equal(await agent.exited, null, `the agent died of a signal after ${step}`);
          const state = await leftovers(c);
          assert.ok(expect[step]!(state, p), `state after the kill at ${step}: ${JSON.stringify(state)}`);
          // The next agent's start-up reconcile runs before it serves; then DEL and GC.
          await c.restartAgent();
          ok(c.rt.call('del', call), `DEL after the kill at ${step}`);
          const g = gc(c);
          assert.equal(g.code, 0, `GC after the kill at ${step}: ${g.stdout}`);
          await assertNoLeaks(c, [p]);
        });
      }
    } finally {
      if (c.agent.child.exitCode !== null || c.agent.child.signalCode !== null) await c.restartAgent();
    }
  });

  test('the plugin killed mid-ADD (as a runtime timeout would): the agent finishes the ADD, and the DEL that follows leaves nothing', async () => {
    await fault(async () => {
      const p = pod();
      const call = { id: cid(), netns: p.path, args: podArgs('client', 'killed') };
      // The agent pauses 3 s after the port step: time to kill the runtime and its plugin.
      await c.restartAgent({ env: { NNET_FAULT_DELAY_AFTER: 'port:3000' } });
      try {
        const runtime = c.rt.spawnCall('add', call);
        await waitFor(
          'the agent to make the port and pause',
          async () => (await leftovers(c)).neutron.length === 1,
        );
        process.kill(-runtime.pid!, 'SIGKILL'); // the harness and the nnet it runs
        await waitFor('the agent to finish the ADD nobody waits for', () =>
          c.agent
            .lines()
            .some((l) => l.msg === 'the plugin went away before the answer; the command ran to its end'),
        );
        const l = await leftovers(c);
        assert.equal(l.rows.length, 1, `the finished ADD is recorded: ${JSON.stringify(l)}`);
        assert.equal(p.run(['ip', 'link', 'show', 'eth0']).code, 0, 'and plugged');
        ok(c.rt.call('del', call), 'the DEL the runtime sends next');
        await assertNoLeaks(c, [p]);
      } finally {
        await c.restartAgent();
      }
    });
  });

  test('a revoked Keystone token is replaced: ADD authenticates again and succeeds', async () => {
    await fault(async () => {
      const p = pod();
      const warm = { id: cid(), netns: p.path, args: podArgs('keystone', 'warm') };
      ok(c.rt.call('add', warm), 'ADD (fills the token cache)');
      ok(c.rt.call('del', warm), 'DEL');
      // Neutron's keystonemiddleware caches tokens it validated (300 s), so a revoked token it has
      // seen would still pass: put a token into the plugin's cache that Neutron has not seen, and
      // revoke it with an admin token before the plugin uses it.
      const admin = await issueToken(c.env);
      const doomed = await issueToken(c.env);
      const cache = pluginTokenCache(c);
      writeFileSync(cache.file, JSON.stringify({ ...cache.data, token: doomed }), { mode: 0o600 });
      const res = await fetch(`${c.env.keystoneUrl}/auth/tokens`, {
        method: 'DELETE',
        headers: { 'x-auth-token': admin, 'x-subject-token': doomed },
      });
      assert.equal(res.status, 204, 'Keystone revoked the token');
      // The agent keeps its token in memory: a new agent takes the cached one.
      const agent = await c.restartAgent();

      const call = { id: cid(), netns: p.path, args: podArgs('keystone', 'revoked') };
      ok(c.rt.call('add', call), 'ADD with a revoked cached token');
      const reauth = agent.lines().some((l) => l.msg === 'token rejected by a service; authenticating again');
      assert.ok(reauth, 'the agent saw the 401 and authenticated again');
      assert.notEqual(pluginTokenCache(c).data.token, doomed, 'the cache holds the new token');
      ok(c.rt.call('del', call), 'DEL');
      await assertNoLeaks(c, [p]);
    });
  });

  test('an expired cached token is not used: ADD authenticates again and succeeds', async () => {
    await fault(async () => {
      const p = pod();
      const cache = pluginTokenCache(c);
      const old = cache.data.token;
      writeFileSync(
        cache.file,
        JSON.stringify({ ...cache.data, expiresAt: new Date(Date.now() - 60_000).toISOString() }),
        {
          mode: 0o600,
        },
      );
      await c.restartAgent();
      const call = { id: cid(), netns: p.path, args: podArgs('keystone', 'expired') };
      ok(c.rt.call('add', call), 'ADD with an expired cached token');
      const now = pluginTokenCache(c).data;
      assert.notEqual(now.token, old, 'a new token was issued');
      assert.ok(Date.parse(now.expiresAt) > Date.now(), 'and cached with its expiry');
      ok(c.rt.call('del', call), 'DEL');
      await assertNoLeaks(c, [p]);
    });
  });

  test('etcd unreachable: ADD and DEL fail with code 11 naming etcd, and ADD leaves no Neutron or OVS port', async () => {
    await fault(async () => {
      const p = pod();
      const port = await closedPort();
      const conf = JSON.stringify({ ...c.rt.plugin, store: `etcd:http://127.0.0.1:${port}` });
      const env = { CNI_CONTAINERID: cid(), CNI_NETNS: p.path, CNI_IFNAME: 'eth0' };
      for (const command of ['ADD', 'DEL']) {
        const r = c.rt.direct({ ...env, CNI_COMMAND: command }, conf);
        assert.equal(r.code, 1, r.stdout);
        const err = JSON.parse(r.stdout);
        assert.equal(err.code, 11, r.stdout);
        assert.match(err.msg, new RegExp(`etcd unreachable: http://127\\.0\\.0\\.1:${port}`));
      }
      await assertNoLeaks(c, [p]);
    });
  });

  test('a DEL sent with another config of this node while the agent re-plugs the same NIC (ovs-vswitchd restarted) waits for the re-plug and leaves nothing', async () => {
    await fault(async () => {
      const p = pod();
      // Another config of this node (its own store timeout): the agent serves it from a second
      // context, while its re-plug works on its own. One NIC must still see one command at a time.
      const conf = JSON.stringify({ ...c.rt.plugin, timeouts: { storeMs: 4000 } });
      const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: cid(), CNI_NETNS: p.path, CNI_IFNAME: 'eth0' };
      // The re-plug pauses once it has found the NIC's record; DEL between its unplug and the release.
      const agent = await c.restartAgent({ env: { NNET_FAULT_DELAY_AFTER: 'replug:4000,unplug:8000' } });
      try {
        await waitFor('the agent to watch OVSDB', () =>
          agent.lines().some((l) => l.msg === 'watching OVSDB'),
        );
        const add = c.rt.direct(env, conf);
        assert.equal(add.code, 0, add.stdout);
        const row = await c.store.attachments.get({ containerId: env.CNI_CONTAINERID, ifname: 'eth0' });
        assert.ok(row, 'the ADD is recorded');
        const seen = () =>
          agent.lines().filter((l) => l.msg === 'OVS recreated a pod NIC device' && l.portId === row.portId)
            .length;
        const before = seen();
        await c.node.restartVswitchd();
        await waitFor('the agent to see the NIC recreated', () => seen() > before);
        await sleep(1500); // the re-plug is in its pause now, past its look at the record
        const del = await c.rt.directAsync({ ...env, CNI_COMMAND: 'DEL' }, conf);
        assert.equal(del.code, 0, del.stdout);
        // The re-plug ran before the DEL (it held the NIC) or found the record gone after it.
        await assertNoLeaks(c, [p]);
      } finally {
        await c.restartAgent();
      }
    });
  });

  test('a SQLite store locked by another process: ADD fails with code 11 saying so, leaves nothing, and works once the lock is gone', async () => {
    await fault(async () => {
      const path = c.storeUrl.slice('sqlite:'.length);
      const holder: ChildProcess = spawn(
        process.execPath,
        [
          '-e',
          `const db = new (require('better-sqlite3'))(${JSON.stringify(path)});
           db.exec('BEGIN EXCLUSIVE'); db.prepare("INSERT INTO clusters (name, data) VALUES ('nnta-lock', '{}')").run();
           process.stdout.write('locked\\n'); setTimeout(() => {}, 120000);`,
        ],
        { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        await new Promise<void>((resolve, reject) => {
          holder.stdout!.once('data', () => resolve());
          holder.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
        });
        const p = pod();
        const conf = JSON.stringify({ ...c.rt.plugin, timeouts: { storeMs: 1000 } });
        const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: cid(), CNI_NETNS: p.path, CNI_IFNAME: 'eth0' };
        const r = c.rt.direct(env, conf);
        assert.equal(r.code, 1, r.stdout);
        const err = JSON.parse(r.stdout);
        assert.equal(err.code, 11);
        assert.match(err.msg, /stayed locked by another process for more than 1000 ms/);
        assert.ok(err.msg.includes(path), 'the message names the database');
        holder.kill('SIGKILL');
        await new Promise((r) => holder.once('exit', r));
        // What the undo met on the way (a loaded machine's OVSDB may need a second try), for the record.
        for (const l of requestLog(c).filter((x) => /^undo/.test(String(x.msg))))
          console.log(`agent: ${JSON.stringify(l)}`);
        await assertNoLeaks(c, [p]);
        const again = c.rt.direct(env, conf);
        assert.equal(again.code, 0, again.stdout);
        const del = c.rt.direct({ ...env, CNI_COMMAND: 'DEL' }, conf);
        assert.equal(del.code, 0, del.stdout);
        await assertNoLeaks(c, [p]);
      } finally {
        if (holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
      }
    });
  });

  test('a corrupt SQLite store: ADD fails with code 105 naming the file and touches nothing', async () => {
    await fault(async () => {
      const p = pod();
      const file = join(c.rt.dir, 'nnta-corrupt.db');
      writeFileSync(file, Buffer.concat([Buffer.from('this is not a database'), randomBytes(8192)]));
      const r = c.rt.direct(
        { CNI_COMMAND: 'ADD', CNI_CONTAINERID: cid(), CNI_NETNS: p.path, CNI_IFNAME: 'eth0' },
        JSON.stringify({ ...c.rt.plugin, store: `sqlite:${file}` }),
      );
      assert.equal(r.code, 1, r.stdout);
      const err = JSON.parse(r.stdout);
      assert.equal(err.code, 105);
      assert.ok(err.msg.includes(file), `the message names ${file}: ${err.msg}`);
      assert.match(err.msg, /not a SQLite database or is damaged/);
      await assertNoLeaks(c, [p]);
    });
  });

  test('32 ADDs at once get 32 distinct IPs, 32 records and 32 ports bound to the node; 32 DELs leave nothing', async () => {
    await fault(async () => {
      const calls = Array.from({ length: 32 }, (_, i) => ({
        id: cid(),
        netns: pod().path,
        args: podArgs('parallel', `p${i}`),
      }));
      const results = await Promise.all(calls.map((call) => c.rt.callAsync('add', call)));
      const ips = results.map((r, i) => (ok(r, `ADD p${i}`).ips as { address: string }[])[0]!.address);
      assert.equal(new Set(ips).size, 32, `distinct IPs: ${ips.join(' ')}`);
      const rows = await c.store.attachments.list({ node: c.name });
      assert.equal(rows.length, 32);
      assert.deepEqual(new Set(rows.map((r) => r.containerId)), new Set(calls.map((x) => x.id)));
      const bound = await c.neutron.ports.list({ hostId: c.name, deviceOwner: DEVICE_OWNER });
      assert.equal(bound.length, 32);
      assert.deepEqual(
        new Set(bound.flatMap((b) => b.fixedIps.map((f) => `${f.ipAddress}/16`))),
        new Set(ips),
        'the store, the results and Neutron agree',
      );
      assert.equal((await listPorts(c.node.plugSettings())).length, 32);
      tally.parallelAdds = 32;
      const dels = await Promise.all(calls.map((call) => c.rt.callAsync('del', call)));
      for (const [i, r] of dels.entries()) ok(r, `DEL p${i}`);
      await assertNoLeaks(c);
    });
  });
});

describe('Neutron failing behind a proxy (503, dropped connections)', () => {
  let c: TestCluster;
  let proxy: NeutronProxy;
  let admin: string;
  const undo: (() => Promise<unknown>)[] = [];
  const pods: TestNetns[] = [];
  const pod = () => {
    const p = createNetns('nnta');
    pods.push(p);
    return p;
  };
  // The proxy runs in this process: every plugin call must be asynchronous (a spawnSync would
  // block the proxy and the plugin would wait for it forever).
  before(async () => {
    // Admin: the test gives the cluster a Keystone region of its own, whose endpoint is the proxy.
    c = await startTestCluster({ prefix: 'nnta', backend: 'sqlite', identity: 'admin' });
    proxy = await startNeutronProxy(c.env.neutronUrl);
    undo.push(() => proxy.close());
    // A region of our own whose network endpoint is the proxy; the cluster uses that region, so
    // the plugin reaches Neutron only through the proxy.
    admin = await issueToken(c.env);
    const region = `${c.name}-region`;
    await keystone(c.env, admin, 'POST', '/regions', { region: { id: region, description: 'nnta test' } });
    undo.push(() => keystone(c.env, admin, 'DELETE', `/regions/${region}`));
    const svc = (await keystone(c.env, admin, 'GET', '/services?type=network')).services[0];
    const ep = await keystone(c.env, admin, 'POST', '/endpoints', {
      endpoint: { service_id: svc.id, interface: 'public', url: proxy.url, region_id: region },
    });
    undo.push(() => keystone(c.env, admin, 'DELETE', `/endpoints/${ep.endpoint.id}`));
    const cluster = (await c.store.clusters.get(c.name))!;
    const { createdAt: _, ...input } = cluster;
    await c.store.clusters.put({ ...input, region });
  });
  after(async () => {
    for (const p of pods) p.remove();
    for (const u of undo.reverse()) await u().catch(() => undefined);
    await c?.stop();
  });

  test('ADD while Neutron answers 503 fails with code 11, leaves nothing, and succeeds after recovery', async () => {
    await fault(async () => {
      const p = pod();
      const call = { id: cid(), netns: p.path, args: podArgs('proxy', 'add503') };
      const warm = { ...call, id: cid() };
      ok(await c.rt.callAsync('add', warm), 'ADD through the proxy');
      ok(await c.rt.callAsync('del', warm), 'DEL through the proxy');
      const seen = proxy.requests;
      assert.ok(seen > 0, 'the plugin reached Neutron through the proxy');
      proxy.set('503');
      const msg = failed(await c.rt.callAsync('add', call), 11, 'ADD during 503');
      assert.match(msg, /503|unavailable/i);
      assert.ok(proxy.faulted > 0);
      proxy.set('pass');
      await assertNoLeaks(c, [p]);
      ok(await c.rt.callAsync('add', call), 'ADD after recovery');
      ok(await c.rt.callAsync('del', call), 'DEL');
      await assertNoLeaks(c, [p]);
    });
  });

  test('DEL while Neutron answers 503 fails with code 11, keeps the record, and a DEL after recovery leaves nothing', async () => {
    await fault(async () => {
      const p = pod();
      const call = { id: cid(), netns: p.path, args: podArgs('proxy', 'del503') };
      ok(await c.rt.callAsync('add', call), 'ADD');
      proxy.set('503');
      failed(await c.rt.callAsync('del', call), 11, 'DEL during 503');
      proxy.set('pass');
      assert.equal((await leftovers(c)).rows.length, 1, 'the record stays until the port is released');
      ok(await c.rt.callAsync('del', call), 'DEL after recovery');
      await assertNoLeaks(c, [p]);
    });
  });

  test('ADD while the connections to Neutron are dropped fails with code 11 and leaves nothing', async () => {
    await fault(async () => {
      const p = pod();
      const call = { id: cid(), netns: p.path, args: podArgs('proxy', 'drop') };
      proxy.set('drop');
      failed(await c.rt.callAsync('add', call), 11, 'ADD with dropped connections');
      proxy.set('pass');
      await assertNoLeaks(c, [p]);
      ok(await c.rt.callAsync('add', call), 'ADD after recovery');
      ok(await c.rt.callAsync('del', call), 'DEL');
      await assertNoLeaks(c, [p]);
    });
  });

  test('Neutron failing right after it created the port: ADD fails with code 11; DEL after recovery releases the port', async () => {
    await fault(async () => {
      const p = pod();
      const call = { id: cid(), netns: p.path, args: podArgs('proxy', 'midway') };
      proxy.set('fail-after-port-create');
      failed(await c.rt.callAsync('add', call), 11, 'ADD failing after the port create');
      proxy.set('pass');
      const l = await leftovers(c);
      assert.deepEqual(l.rows, [], 'no record of a failed ADD');
      assert.deepEqual(l.ovs, [], 'nothing plugged');
      ok(await c.rt.callAsync('del', call), 'DEL after recovery');
      await assertNoLeaks(c, [p]);
    });
  });
});
