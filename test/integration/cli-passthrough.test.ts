/**
 * kubenetctl against the real kubectl (/usr/bin/kubectl; no API server exists here, so the
 * commands either need none or fail the same way), and against the recording kubectl stand-in
 * (test/support/kubectl-standin) to see exactly what kubectl is given.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bundle as bundleBinary } from '../../scripts/build.ts';
import { PROJECT_ROOT } from '../support/env.ts';
import { createStandin, type Standin } from '../support/kubectl-standin/index.ts';

const VERSION = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).version as string;

let work: string;
let bundle: string;
let baseEnv: NodeJS.ProcessEnv;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'kubenetctl-test-'));
  bundle = join(work, 'kubenetctl.js');
  // The shipped form, bundled as `npm run build` does (only this entry).
  await bundleBinary('kubenetctl', bundle);
  const home = join(work, 'home');
  mkdirSync(home);
  const kubeconfig = join(work, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: c1',
      '  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}',
      '- name: c2',
      '  cluster: {server: "https://127.0.0.1:2"}',
      'users:',
      '- name: u1',
      '  user: {token: "test-token-not-real"}',
      'contexts:',
      '- name: ctx1',
      '  context: {cluster: c1, user: u1, namespace: team-a}',
      '- name: ctx2',
      '  context: {cluster: c2, user: u1}',
      'current-context: ctx1',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  baseEnv = { PATH: process.env.PATH, HOME: home, KUBECONFIG: kubeconfig, LANG: 'C' };
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  /** Stdin from this file instead (node's `input` is a socket, which /dev/stdin cannot open). */
  stdinFile?: string;
}

function run(file: string, args: string[], options: RunOptions): SpawnSyncReturns<string> {
  const fd = options.stdinFile === undefined ? undefined : openSync(options.stdinFile, 'r');
  try {
    return spawnSync(file, args, {
      env: { ...baseEnv, ...options.env },
      ...(fd === undefined ? { input: options.input ?? '' } : { stdio: [fd, 'pipe', 'pipe'] }),
      encoding: 'utf8',
      timeout: 60_000,
    });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const kubenetctl = (args: string[], options: RunOptions = {}) =>
  run(process.execPath, [bundle, ...args], options);
const kubectl = (args: string[], options: RunOptions = {}) => run('kubectl', args, options);

/** klog's line prefix holds a timestamp and a PID: `E1125 17:30:51.234924   12046 `. */
function normalise(stderr: string): string {
  return stderr.replace(/^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d{6}\s+\d+ /gm, '<klog> ');
}

function assertSameAsKubectl(args: string[], options: RunOptions = {}): SpawnSyncReturns<string> {
  const ours = kubenetctl(args, options);
  const theirs = kubectl(args, options);
  assert.equal(ours.error, undefined);
  assert.equal(ours.status, theirs.status, `exit code of ${args.join(' ')}: ${ours.stderr}`);
  assert.equal(ours.stdout, theirs.stdout, `stdout of ${args.join(' ')}`);
  assert.equal(normalise(ours.stderr), normalise(theirs.stderr), `stderr of ${args.join(' ')}`);
  return ours;
}

function withStandin(t: { after: (fn: () => void) => void }): Standin {
  const standin = createStandin();
  t.after(() => standin.cleanup());
  return standin;
}

// --- the real kubectl ------------------------------------------------------------------------

test('config view, config get-contexts and completion bash give kubectl’s exact output', () => {
  assert.equal(assertSameAsKubectl(['config', 'view']).status, 0);
  assert.match(assertSameAsKubectl(['config', 'get-contexts']).stdout, /^CURRENT {3}NAME/);
  assert.equal(
    assertSameAsKubectl(['config', 'view', '-o', 'jsonpath={.contexts[*].name}']).stdout,
    'ctx1 ctx2',
  );
  assert.ok(assertSameAsKubectl(['completion', 'bash']).stdout.length > 1000);
});

test('kubectl’s own flags pass through untouched and in order (--kubeconfig, --context, -v)', () => {
  const other = join(work, 'other-kubeconfig');
  writeFileSync(other, 'apiVersion: v1\nkind: Config\ncurrent-context: ""\n', { mode: 0o600 });
  assertSameAsKubectl(['--kubeconfig', other, 'config', 'view', '-v', '0']);
  assert.equal(
    assertSameAsKubectl(['config', '--context', 'ctx2', 'view', '--minify', '-o', 'jsonpath={..server}'])
      .stdout,
    'https://127.0.0.1:2',
  );
});

test('a failing command (no API server) fails the same way: exit code, stdout and stderr', () => {
  const ours = assertSameAsKubectl(['get', 'pods', '--request-timeout=1s']);
  assert.equal(ours.status, 1);
  assert.match(ours.stderr, /127\.0\.0\.1:1/);
  assert.equal(assertSameAsKubectl(['api-resources', '--request-timeout=1s']).status, 1);
  assert.equal(
    assertSameAsKubectl(['get', 'pods', '--request-timeout=1s', '--server=https://127.0.0.1:1']).status,
    1,
  );
});

test('an unknown command and a bad flag get kubectl’s own errors and exit codes', () => {
  assert.equal(assertSameAsKubectl(['frobnicate']).status, 1);
  assert.equal(assertSameAsKubectl(['get', 'pods', '--no-such-flag']).status, 1);
  assert.equal(assertSameAsKubectl(['version', '-o', 'foo']).status, 1);
});

test('kubectl’s help for its own commands is unchanged', () => {
  assert.equal(assertSameAsKubectl(['get', '--help']).status, 0);
  assert.equal(assertSameAsKubectl(['run', '-h']).status, 0);
});

test('stdin reaches kubectl (create configmap --from-file=/dev/stdin)', () => {
  const input = 'hello\nworld\n';
  const stdinFile = join(work, 'stdin.txt');
  writeFileSync(stdinFile, input);
  const ours = assertSameAsKubectl(
    ['create', 'configmap', 'c', '--from-file=key=/dev/stdin', '--dry-run=client', '-o', 'json'],
    {
      stdinFile,
    },
  );
  assert.equal(JSON.parse(ours.stdout).data.key, input);
});

test('create -f - (a Pod on stdin, read by N-Net for annotations) reaches kubectl unchanged', () => {
  const pod = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p1' },
    spec: { containers: [{ name: 'c', image: 'nginx' }] },
  });
  // No API server: kubectl reads STDIN, then fails to validate it. Same on both sides.
  const ours = assertSameAsKubectl(
    ['create', '-f', '-', '--dry-run=client', '-o', 'json', '--request-timeout=1s'],
    { input: pod },
  );
  assert.equal(ours.status, 1);
  assert.match(ours.stderr, /error validating "STDIN"/);
});

test('--help is kubectl’s help followed by the N-Net network commands', () => {
  const ours = kubenetctl(['--help']);
  const theirs = kubectl(['--help']);
  assert.equal(ours.status, 0);
  assert.equal(theirs.status, 0);
  assert.ok(ours.stdout.startsWith(theirs.stdout), 'kubectl’s help comes first, unchanged');
  const extra = ours.stdout.slice(theirs.stdout.length);
  assert.match(
    extra,
    /^\nN-Net network commands:\n {2}get \(networks\|subnets\|routers\|clusters\|podnetworks\|pools\)/,
  );
  assert.match(extra, /\n {2}connect router ROUTER --subnet SUBNET +Join a subnet to a router\n/);
  assert.equal(ours.stderr, theirs.stderr);
  assert.equal(kubenetctl([]).stdout, ours.stdout, 'no arguments shows the same help');
});

test('version prints kubenetctl’s version, then kubectl’s', () => {
  const ours = kubenetctl(['version', '--client']);
  const theirs = kubectl(['version', '--client']);
  assert.equal(ours.status, 0);
  assert.equal(ours.stdout, `kubenetctl Version: v${VERSION}\n${theirs.stdout}`);
});

test('version -o json and -o yaml are one document holding both versions', async () => {
  const ours = kubenetctl(['version', '--client', '-o', 'json']);
  const theirs = kubectl(['version', '--client', '-o', 'json']);
  assert.equal(ours.status, 0);
  assert.deepEqual(JSON.parse(ours.stdout), {
    kubenetctlVersion: { gitVersion: `v${VERSION}` },
    ...JSON.parse(theirs.stdout),
  });
  const { parse } = await import('yaml');
  const yamlOut = kubenetctl(['version', '--client', '-o', 'yaml']);
  assert.equal(yamlOut.status, 0);
  assert.deepEqual(parse(yamlOut.stdout), {
    kubenetctlVersion: { gitVersion: `v${VERSION}` },
    ...JSON.parse(theirs.stdout),
  });
});

test('N-Net command help and errors: kubectl style, never passed to kubectl', (t) => {
  const standin = withStandin(t);
  const help = kubenetctl(['get', 'networks', '--help'], { env: standin.env });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /\nUsage:\n {2}kubenetctl get networks \[NAME\.\.\.\] \[options\]\n/);
  const bad = kubenetctl(['get', 'networks', '--bogus'], { env: standin.env });
  assert.equal(bad.status, 1);
  assert.equal(bad.stdout, '');
  assert.equal(bad.stderr, "error: unknown flag: --bogus\nSee 'kubenetctl get networks --help' for usage.\n");
  const badCidr = kubenetctl(['create', 'subnet', 's', '--network', 'n', '--cidr', '1.2.3.0/16'], {
    env: standin.env,
  });
  assert.equal(badCidr.status, 1);
  assert.equal(
    badCidr.stderr,
    'error: invalid argument "1.2.3.0/16" for "--cidr" flag: host bits are set (did you mean 1.2.0.0/16?)\n',
  );
  assert.deepEqual(standin.calls(), []);
});

test('kubectl missing from PATH, or KUBECTL not executable: a clear error and exit 1', () => {
  const missing = kubenetctl(['get', 'pods'], { env: { PATH: join(work, 'empty-dir') } });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^error: kubectl not found in PATH: .*set KUBECTL to its path\n$/);
  const bad = kubenetctl(['get', 'pods'], { env: { KUBECTL: join(work, 'no-such-kubectl') } });
  assert.equal(bad.status, 1);
  assert.equal(bad.stderr, `error: KUBECTL=${join(work, 'no-such-kubectl')} is not an executable file\n`);
});

// --- the recording stand-in ------------------------------------------------------------------

test('run with --subnet/--ip hands kubectl exactly "run pod1 --image=nginx -n team-a"', (t) => {
  const standin = withStandin(t);
  const result = kubenetctl(
    ['run', 'pod1', '--image=nginx', '--subnet=1.2.0.0/16', '--ip=1.2.0.100', '-n', 'team-a'],
    {
      env: standin.env,
    },
  );
  assert.equal(result.status, 0, result.stderr);
  const calls = standin.calls();
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]!.argv, ['run', 'pod1', '--image=nginx', '-n', 'team-a']);
});

test('run keeps kubectl’s flags in order and everything after --', (t) => {
  const standin = withStandin(t);
  const args = [
    '--context',
    'ctx1',
    '-v',
    '2',
    'run',
    'pod1',
    '--image',
    'busybox',
    '--ip',
    '1.2.0.100',
    '--restart=Never',
    '--',
    'sh',
    '-c',
    'echo --ip=x',
  ];
  const result = kubenetctl(args, { env: standin.env });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(standin.calls()[0]!.argv, [
    '--context',
    'ctx1',
    '-v',
    '2',
    'run',
    'pod1',
    '--image',
    'busybox',
    '--restart=Never',
    '--',
    'sh',
    '-c',
    'echo --ip=x',
  ]);
});

test('run with an IP outside its subnet fails before kubectl runs', (t) => {
  const standin = withStandin(t);
  const result = kubenetctl(['run', 'pod1', '--image=nginx', '--subnet', '1.2.0.0/16', '--ip', '1.3.0.1'], {
    env: standin.env,
  });
  assert.equal(result.status, 1);
  assert.equal(
    result.stderr,
    'error: invalid argument "1.3.0.1" for "--ip" flag: is not inside 1.2.0.0/16\n',
  );
  assert.deepEqual(standin.calls(), []);
});

test('kubectl’s exit code, stdout, stderr and environment are forwarded', (t) => {
  const standin = withStandin(t);
  const result = kubenetctl(['get', 'pods', '-A'], {
    env: {
      ...standin.env,
      KUBECTL_STANDIN_EXIT: '7',
      KUBECTL_STANDIN_STDOUT: 'out-text',
      KUBECTL_STANDIN_STDERR: 'err-text',
      NNET_TEST_MARKER: 'marker-value',
    },
  });
  assert.equal(result.status, 7);
  assert.equal(result.stdout, 'out-text');
  assert.equal(result.stderr, 'err-text');
  const call = standin.calls()[0]!;
  assert.deepEqual(call.argv, ['get', 'pods', '-A']);
  assert.equal(call.env.NNET_TEST_MARKER, 'marker-value');
  assert.equal(call.env.KUBECONFIG, baseEnv.KUBECONFIG);
});

test('stdin is forwarded byte for byte, also when N-Net read it first (apply -f -)', (t) => {
  const standin = withStandin(t);
  const plain = Buffer.from('raw \u0000 bytes\n\u00ff', 'latin1');
  assert.equal(kubenetctl(['exec', '-i', 'pod1', '--', 'cat'], { env: standin.env, input: plain }).status, 0);
  const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: pod1
  annotations:
    nnet.io/subnet: 1.2.0.0/16
    nnet.io/ip: 1.2.0.100
spec:
  containers: [{name: c, image: nginx}]
`;
  const applied = kubenetctl(['apply', '-f', '-', '-n', 'team-a'], { env: standin.env, input: manifest });
  assert.equal(applied.status, 0, applied.stderr);
  const [exec, apply] = standin.calls();
  assert.deepEqual(exec!.stdin, plain);
  assert.deepEqual(apply!.argv, ['apply', '-f', '-', '-n', 'team-a']);
  assert.equal(apply!.stdin.toString('utf8'), manifest);
});

test('apply -f with a bad N-Net annotation fails before kubectl; -R decides whether subdirectories count', (t) => {
  const standin = withStandin(t);
  const dir = join(work, 'manifests');
  mkdirSync(join(dir, 'nested'), { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'ok.yaml'),
    'apiVersion: v1\nkind: Pod\nmetadata: {name: a, annotations: {nnet.io/ip: 1.2.0.5}}\n',
  );
  writeFileSync(
    join(dir, 'nested', 'bad.yaml'),
    'apiVersion: v1\nkind: Pod\nmetadata: {name: b, annotations: {nnet.io/subnet: 1.2.0.0/16, nnet.io/ip: 9.9.9.9}}\n',
  );
  const flat = kubenetctl(['apply', '-f', dir], { env: standin.env });
  assert.equal(flat.status, 0, flat.stderr);
  const recursive = kubenetctl(['apply', '-f', dir, '-R'], { env: standin.env });
  assert.equal(recursive.status, 1);
  assert.equal(
    recursive.stderr,
    `error: invalid annotation nnet.io/ip="9.9.9.9" on pod default/b in ${join(dir, 'nested', 'bad.yaml')}: is not inside 1.2.0.0/16\n`,
  );
  assert.deepEqual(
    standin.calls().map((c) => c.argv),
    [['apply', '-f', dir]],
  );
});

test('delete pod NAME passes through unchanged', (t) => {
  const standin = withStandin(t);
  const result = kubenetctl(['delete', 'pod', 'pod1', '-n', 'team-a', '--grace-period=0'], {
    env: standin.env,
  });
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(standin.calls()[0]!.argv, ['delete', 'pod', 'pod1', '-n', 'team-a', '--grace-period=0']);
});

function waitFor(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 25);
    };
    poll();
  });
}

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  test(`${signal} to kubenetctl reaches kubectl, and kubenetctl then dies of ${signal} too`, async (t) => {
    const standin = withStandin(t);
    const child = spawn(process.execPath, [bundle, 'logs', '-f', 'pod1'], {
      env: { ...baseEnv, ...standin.env, KUBECTL_STANDIN_SLEEP: '30', KUBECTL_STANDIN_STDIN: 'ignore' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, sig) => resolve({ code, signal: sig })),
    );
    await waitFor(() => standin.calls()[0]?.ready === true, 'the stand-in to start');
    assert.equal(standin.calls()[0]!.ppid, child.pid, 'kubectl is kubenetctl’s child');
    child.kill(signal);
    const { code, signal: died } = await exited;
    assert.deepEqual({ code, signal: died }, { code: null, signal });
    assert.deepEqual(standin.calls()[0]!.signals, [signal.slice(3)]);
  });
}

test('a shell sees 128+n when kubectl dies of signal n', async (t) => {
  const standin = withStandin(t);
  const child = spawn(
    'sh',
    ['-c', '"$0" "$@"; echo "exit=$?"', process.execPath, bundle, 'port-forward', 'pod1', '8080'],
    {
      env: { ...baseEnv, ...standin.env, KUBECTL_STANDIN_SLEEP: '30', KUBECTL_STANDIN_STDIN: 'ignore' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let kubenetctlPid: number | undefined;
  t.after(() => {
    if (kubenetctlPid && existsSync(`/proc/${kubenetctlPid}`)) process.kill(kubenetctlPid, 'SIGKILL');
  });
  let stdout = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await waitFor(() => standin.calls()[0]?.ready === true, 'the stand-in to start');
  kubenetctlPid = standin.calls()[0]!.ppid;
  process.kill(kubenetctlPid, 'SIGTERM');
  await exited;
  assert.equal(stdout, 'exit=143\n');
  assert.deepEqual(standin.calls()[0]!.signals, ['TERM']);
});
