/**
 * End to end: the BUILT plugin (`npm run build` → dist/nnet.js), spawned as a runtime spawns it,
 * answers VERSION and bad input with spec JSON on stdout and the right exit code, and VERSION
 * starts fast. Builds first when dist/nnet.js is missing or older than its sources.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUNDLE = join(ROOT, 'dist/nnet.js');
const SOURCES = [
  'src/cni',
  'src/bin/nnet.ts',
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
  assert.ok(statSync(BUNDLE).mtimeMs >= newestSource(), 'dist/nnet.js is fresh after the build');
}

const BASE_ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

function plugin(env: Record<string, string>, stdin?: string) {
  const r = spawnSync(process.execPath, [BUNDLE], {
    env: { ...BASE_ENV, ...env },
    input: stdin,
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
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

test('the built plugin answers bad input with one spec error JSON, exit 1, and logs it to the file', (t) => {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'nnet-bin-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'nnet.log');
  const attach = {
    CNI_CONTAINERID: 'c0ffee',
    CNI_NETNS: '/run/netns/none',
    CNI_IFNAME: 'eth0',
    NNET_LOG_FILE: log,
  };
  const cases: { env: Record<string, string>; stdin: string; code: number; msg: RegExp; version: string }[] =
    [
      {
        env: { CNI_COMMAND: 'ADD', ...attach },
        stdin: '{"cniVersion": "1.0.0", ',
        code: 6,
        msg: /not valid JSON/,
        version: '1.1.0',
      },
      { env: { CNI_COMMAND: 'ADD', ...attach }, stdin: '', code: 6, msg: /empty/, version: '1.1.0' },
      {
        env: { CNI_COMMAND: 'ADD', ...attach },
        stdin: JSON.stringify({ cniVersion: '0.3.1', name: 'pods', type: 'nnet', cluster: 'prod' }),
        code: 1,
        msg: /0\.4\.0, 1\.0\.0, 1\.1\.0/,
        version: '1.1.0',
      },
      {
        env: { CNI_COMMAND: 'ADD', ...attach },
        stdin: JSON.stringify({
          cniVersion: '0.4.0',
          name: 'pods',
          type: 'nnet',
          cluster: 'prod',
          plugDriver: 'x',
        }),
        code: 7,
        msg: /field "plugDriver" must be one of internal, hybrid/,
        version: '0.4.0',
      },
      {
        env: { CNI_COMMAND: 'ADD', CNI_IFNAME: 'eth0/1', NNET_LOG_FILE: log },
        stdin: JSON.stringify({ cniVersion: '1.0.0', name: 'pods', type: 'nnet', cluster: 'prod' }),
        code: 4,
        msg: /CNI_CONTAINERID.*CNI_NETNS.*CNI_IFNAME/,
        version: '1.0.0',
      },
      {
        env: { CNI_COMMAND: 'BOGUS', NNET_LOG_FILE: log },
        stdin: '{}',
        code: 4,
        msg: /CNI_COMMAND/,
        version: '1.1.0',
      },
    ];
  for (const c of cases) {
    const r = plugin(c.env, c.stdin);
    assert.equal(r.code, 1, `${c.msg}: ${r.stdout} ${r.stderr}`);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `one document: ${r.stdout}`);
    const doc = JSON.parse(lines[0]!);
    assert.equal(doc.code, c.code, r.stdout);
    assert.equal(doc.cniVersion, c.version);
    assert.match(doc.msg, c.msg);
    assert.doesNotMatch(r.stdout, /\bat .+:\d+:\d+/);
  }
  const logged = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(logged.some((l) => l.level === 'error' && l.code === 6 && l.component === 'cni'));
});
