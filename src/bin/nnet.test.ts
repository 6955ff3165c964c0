/**
 * End to end: the BUILT thin plugin (`npm run build` → dist/nnet, compiled from
 * src/cniproto/thin/main.go), spawned as a runtime spawns it, answers VERSION itself, answers code
 * 11 (STATUS: 50) when no nnet-agent runs, speaks the protocol to a socket peer of the test's own,
 * and through a real nnet-agent (dist/nnet-agent.js, no services needed for these) answers bad
 * input with the plugin's own spec JSON and code. The agent's socket refuses what is not a
 * request. Builds first when dist/ is missing or older than its sources.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { STACK_TRACE } from '../../test/support/stack.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUNDLE = join(ROOT, 'dist/nnet');
const AGENT = join(ROOT, 'dist/nnet-agent.js');
const SOURCES = [
  'src/cni',
  'src/cniproto',
  'src/agent',
  'src/bin',
  'src/errors',
  'src/log',
  'package-lock.json',
  'scripts/build.ts',
];

function newestSource(): number {
  let newest = 0;
  const visit = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p)) visit(join(p, e));
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const s of SOURCES) visit(join(ROOT, s));
  return newest;
}

function ensureBuilt(): void {
  if (existsSync(BUNDLE) && statSync(BUNDLE).mtimeMs >= newestSource()) return;
  try {
    // Other helpers build too; the lock keeps two builds from writing dist/ at once.
    execFileSync('flock', ['/tmp/nnet-build.lock', 'npm', 'run', '-s', 'build'], {
      cwd: ROOT,
      stdio: 'pipe',
    });
  } catch (e) {
    const err = e as { stderr?: Buffer };
    assert.fail(`npm run build failed: ${err.stderr?.toString().slice(-2000) ?? String(e)}`);
  }
  assert.ok(statSync(BUNDLE).mtimeMs >= newestSource(), 'dist/nnet is fresh after the build');
}

const BASE_ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

function plugin(env: Record<string, string>, stdin?: string | Buffer) {
  const r = spawnSync(BUNDLE, [], {
    env: { ...BASE_ENV, ...env },
    input: stdin,
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function oneDocument(stdout: string): Record<string, unknown> {
  const lines = stdout.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one document: ${stdout}`);
  return JSON.parse(lines[0]!);
}

test('the built plugin answers VERSION with the supported versions, exit 0, no stdin needed', () => {
  ensureBuilt();
  for (const stdin of [undefined, '', '{"cniVersion":"1.0.0"}']) {
    const r = plugin({ CNI_COMMAND: 'VERSION' }, stdin);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      cniVersion: '1.1.0',
      supportedVersions: ['0.4.0', '1.0.0', '1.1.0'],
    });
    assert.equal(r.stderr, '');
  }
});

test('the built plugin is one static binary: no interpreter, no Node.js, no libraries needed on the node', () => {
  ensureBuilt();
  const elf = readFileSync(BUNDLE);
  assert.equal(elf.subarray(0, 4).toString('latin1'), '\x7fELF', 'an ELF executable');
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  const PT_INTERP = 3;
  const PT_DYNAMIC = 2;
  for (let i = 0; i < phnum; i++) {
    const type = elf.readUInt32LE(phoff + i * phentsize);
    assert.ok(type !== PT_INTERP && type !== PT_DYNAMIC, 'statically linked: no program interpreter');
  }
  assert.ok(elf.length < 4 * 1024 * 1024, `dist/nnet is ${elf.length} bytes`);
  // An empty environment: no PATH, no node.
  const r = spawnSync(BUNDLE, [], { env: { CNI_COMMAND: 'VERSION' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).cniVersion, '1.1.0');
});

/** The plugin run without blocking this process (a socket peer of the test lives in it). */
function pluginAsync(
  env: Record<string, string>,
  stdin: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(BUNDLE, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d) => {
      stderr += d.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** A socket peer of the test's own: records each request line and answers with `reply`. */
async function peer(dir: string, reply: (request: string) => string | undefined) {
  const socket = join(dir, 'peer.sock');
  const requests: string[] = [];
  const server = createServer((c) => {
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      requests.push(line);
      const answer = reply(line);
      if (answer === undefined) c.destroy();
      else c.end(answer);
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return { socket, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test("the plugin forwards only CNI_* and the exact stdin, and prints the agent's answer as it is with its code", async (t) => {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'nnet-bin-test-'));
  const p = await peer(
    dir,
    () => `${JSON.stringify({ v: 1, code: 7, stdout: '{"cniVersion":"1.0.0","code":7,"msg":"<&>"}\n' })}\n`,
  );
  t.after(async () => {
    await p.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const stdin = JSON.stringify({ cniVersion: '1.0.0', agentSocket: p.socket, note: 'ünï\u2028code' });
  const r = await pluginAsync(
    { PATH: '/bin', HOME: '/root', CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_ARGS: 'A=1;B=2' },
    stdin,
  );
  assert.equal(r.code, 7, r.stderr);
  assert.equal(r.stdout, '{"cniVersion":"1.0.0","code":7,"msg":"<&>"}\n');
  assert.equal(p.requests.length, 1);
  const req = JSON.parse(p.requests[0]!);
  assert.equal(req.v, 1);
  assert.deepEqual(req.env, { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_ARGS: 'A=1;B=2' });
  assert.equal(Buffer.from(req.stdin, 'base64').toString('utf8'), stdin);
});

test('an agent that hangs up or answers something else: code 11 saying so, in the config’s version', async (t) => {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'nnet-bin-test-'));
  const hangUp = await peer(dir, () => undefined);
  const sub = mkdtempSync(join(dir, 'b'));
  const foreign = await peer(sub, () => 'HTTP/1.1 400 Bad Request\r\n\r\n');
  t.after(async () => {
    await hangUp.close();
    await foreign.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const conf = (socket: string) =>
    JSON.stringify({ cniVersion: '0.4.0', nodeName: 'node9', agentSocket: socket });
  const a = await pluginAsync({ ...BASE_ENV, CNI_COMMAND: 'DEL' }, conf(hangUp.socket));
  assert.equal(a.code, 1);
  assert.deepEqual(oneDocument(a.stdout), {
    cniVersion: '0.4.0',
    code: 11,
    msg: `nnet-agent is not running on node node9 (it closed the connection to ${hangUp.socket} before answering); the runtime will retry`,
  });
  const b = oneDocument(
    (await pluginAsync({ ...BASE_ENV, CNI_COMMAND: 'ADD' }, conf(foreign.socket))).stdout,
  );
  assert.equal(b.code, 11);
  assert.match(
    String(b.msg),
    new RegExp(`talking to it failed: its answer on ${foreign.socket} is not an nnet answer`),
  );
});

test('odd config values fall back to the defaults; stdin over 8 MiB is refused with code 5', () => {
  ensureBuilt();
  const odd = [
    '',
    'not json',
    '[]',
    '{"agentSocket":"relative.sock","cniVersion":"9.9.9","nodeName":"has space"}',
  ];
  for (const stdin of odd) {
    const doc = oneDocument(plugin({ CNI_COMMAND: 'ADD' }, stdin).stdout);
    assert.equal(doc.cniVersion, '1.1.0', stdin);
    assert.equal(doc.code, 11, stdin);
    assert.ok(String(doc.msg).includes(`on node ${hostname()} (`), String(doc.msg));
    assert.ok(String(doc.msg).includes('/run/nnet/cni.sock'), `the default socket: ${String(doc.msg)}`);
  }
  const big = plugin({ CNI_COMMAND: 'ADD' }, Buffer.alloc(8 * 1024 * 1024 + 1, 0x20));
  assert.equal(big.code, 1);
  const doc = oneDocument(big.stdout);
  assert.equal(doc.code, 5);
  assert.match(String(doc.msg), /stdin is larger than 8388608 bytes/);
});

test('without nnet-agent: ADD, DEL, CHECK and GC answer code 11 naming the node and the socket; STATUS answers 50', (t) => {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'nnet-bin-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'run', 'cni.sock');
  const conf = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'pods',
    type: 'nnet',
    cluster: 'prod',
    nodeName: 'node7',
    agentSocket: socket,
  });
  const attach = { CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0' };
  for (const command of ['ADD', 'DEL', 'CHECK', 'GC']) {
    const r = plugin({ CNI_COMMAND: command, ...attach }, conf);
    assert.equal(r.code, 1, r.stdout);
    const doc = oneDocument(r.stdout);
    assert.equal(doc.code, 11, r.stdout);
    assert.equal(doc.cniVersion, '1.0.0');
    assert.match(String(doc.msg), /nnet-agent is not running on node node7/);
    assert.ok(String(doc.msg).includes(socket), String(doc.msg));
  }
  const status = plugin({ CNI_COMMAND: 'STATUS' }, conf.replace('1.0.0', '1.1.0'));
  assert.equal(status.code, 1);
  assert.equal(oneDocument(status.stdout).code, 50);
});

interface Agent {
  child: ChildProcess;
  socket: string;
  log: string;
  stop(): Promise<void>;
}

/** dist/nnet-agent.js on a config whose store, cluster and OVSDB do not exist: it serves anyway. */
async function startAgent(dir: string): Promise<Agent> {
  const socket = join(dir, 'run', 'cni.sock');
  const log = join(dir, 'agent.log');
  const conflist = join(dir, '10-nnet.conflist');
  writeFileSync(
    conflist,
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'pods',
      plugins: [
        {
          type: 'nnet',
          cluster: 'prod',
          store: `sqlite:${dir}/nnet.db`,
          ovsdbSocket: `unix:${dir}/no-ovsdb.sock`,
          tokenCacheDir: `${dir}/tokens`,
          logFile: `${dir}/nnet.log`,
          agentSocket: socket,
        },
      ],
    }),
  );
  const child = spawn(
    process.execPath,
    [AGENT, '--cni-config', conflist, '--log-file', log, '--metrics-listen', 'off'],
    {
      stdio: 'ignore',
      env: BASE_ENV,
    },
  );
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 60_000;
  while (!(existsSync(log) && readFileSync(log, 'utf8').includes('"serving CNI"'))) {
    if (child.exitCode !== null || Date.now() > deadline)
      assert.fail(`the agent did not serve: ${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    socket,
    log,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** One raw exchange on the agent's socket. */
function exchange(socket: string, data: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection({ path: socket });
    let out = '';
    c.on('connect', () => c.write(data));
    c.on('data', (d) => {
      out += d.toString('utf8');
    });
    c.on('error', reject);
    c.on('close', () => resolve(out));
  });
}

test("through nnet-agent, bad input gets the plugin's own spec error JSON and code, logged to the agent's log file", async (t) => {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'nnet-bin-test-'));
  const agent = await startAgent(dir);
  t.after(async () => {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const attach = { CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0' };
  const conf = (o: Record<string, unknown>) => JSON.stringify({ agentSocket: agent.socket, ...o });
  const cases: { env: Record<string, string>; stdin: string; code: number; msg: RegExp; version: string }[] =
    [
      {
        env: { CNI_COMMAND: 'ADD', ...attach },
        stdin: conf({ cniVersion: '0.3.1', name: 'pods', type: 'nnet', cluster: 'prod' }),
        code: 1,
        msg: /0\.4\.0, 1\.0\.0, 1\.1\.0/,
        version: '1.1.0',
      },
      {
        env: { CNI_COMMAND: 'ADD', ...attach },
        stdin: conf({ cniVersion: '0.4.0', name: 'pods', type: 'nnet', cluster: 'prod', plugDriver: 'x' }),
        code: 7,
        msg: /field "plugDriver" must be one of internal, hybrid/,
        version: '0.4.0',
      },
      {
        env: { CNI_COMMAND: 'ADD', CNI_IFNAME: 'eth0/1' },
        stdin: conf({ cniVersion: '1.0.0', name: 'pods', type: 'nnet', cluster: 'prod' }),
        code: 4,
        msg: /CNI_CONTAINERID.*CNI_NETNS.*CNI_IFNAME/,
        version: '1.0.0',
      },
      { env: { CNI_COMMAND: 'BOGUS' }, stdin: conf({}), code: 4, msg: /CNI_COMMAND/, version: '1.1.0' },
    ];
  for (const c of cases) {
    const r = plugin(c.env, c.stdin);
    assert.equal(r.code, 1, `${c.msg}: ${r.stdout}`);
    const doc = oneDocument(r.stdout);
    assert.equal(doc.code, c.code, r.stdout);
    assert.equal(doc.cniVersion, c.version);
    assert.match(String(doc.msg), c.msg);
    assert.doesNotMatch(r.stdout, STACK_TRACE);
  }
  // A config that is not JSON cannot name its socket: the thin plugin asks the default one, where
  // the agent answers as the plugin did. Sent here as the plugin would send it.
  const undecodable = await exchange(
    agent.socket,
    `${JSON.stringify({ v: 1, env: { CNI_COMMAND: 'ADD', ...attach }, stdin: Buffer.from('{"cniVersion": "1.0.0", ').toString('base64') })}\n`,
  );
  const a = JSON.parse(undecodable.split('\n')[0]!);
  assert.equal(a.code, 1);
  assert.match(JSON.parse(a.stdout).msg, /not valid JSON/);
  assert.equal(JSON.parse(a.stdout).code, 6);
  const logged = readFileSync(agent.log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(logged.some((l) => l.level === 'error' && l.code === 6 && l.component === 'cni'));
});

test("the agent's socket is root's only, and what is not a request gets a CNI error, never a crash", async (t) => {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'nnet-bin-test-'));
  const agent = await startAgent(dir);
  t.after(async () => {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.equal(statSync(join(dir, 'run')).mode & 0o777, 0o700, 'the socket directory is 0700');
  assert.equal(statSync(agent.socket).mode & 0o777, 0o600, 'the socket is 0600');
  const answer = (text: string) => {
    const a = JSON.parse(text.split('\n')[0]!);
    return { code: a.code as number, doc: JSON.parse(a.stdout) as Record<string, unknown> };
  };
  const garbage = answer(await exchange(agent.socket, 'this is not json\n'));
  assert.equal(garbage.code, 1);
  assert.equal(garbage.doc.code, 6);
  assert.match(String(garbage.doc.msg), /not an nnet request: it is not JSON/);
  const foreign = answer(
    await exchange(agent.socket, `${JSON.stringify({ v: 1, env: { PATH: '/bin' }, stdin: '' })}\n`),
  );
  assert.match(String(foreign.doc.msg), /not CNI_/);
  const huge = answer(await exchange(agent.socket, Buffer.alloc(12 * 1024 * 1024, 0x41)));
  assert.equal(huge.doc.code, 5);
  assert.match(String(huge.doc.msg), /larger than/);
  // Still serving: a well-formed request gets the plugin's answer.
  const ok = answer(
    await exchange(
      agent.socket,
      `${JSON.stringify({ v: 1, env: { CNI_COMMAND: 'BOGUS' }, stdin: Buffer.from('{}').toString('base64') })}\n`,
    ),
  );
  assert.equal(ok.doc.code, 4);
  assert.equal(agent.child.exitCode, null, 'the agent still runs');
});
