/** Small process helpers for the lab: run a command (optionally inside a netns), fail loudly. */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface RunOptions {
  netns?: string;
  env?: Record<string, string>;
  input?: string;
  allowFail?: boolean;
  timeoutMs?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, cmd, ...args]] : [cmd, args];
  const env = { ...process.env, PATH: SYSTEM_PATH, ...opts.env };
  if (opts.input !== undefined) return runWithInput(file, argv, env, opts);
  try {
    const { stdout, stderr } = await execFileP(file, argv, {
      env,
      timeout: opts.timeoutMs ?? 60_000,
      maxBuffer: 64 << 20,
    });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number | string };
    const res = {
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? String(e),
      code: typeof err.code === 'number' ? err.code : 1,
    };
    if (opts.allowFail) return res;
    throw new Error(
      `${[file, ...argv].join(' ')} failed (${res.code}): ${res.stderr.trim() || res.stdout.trim()}`,
    );
  }
}

function runWithInput(
  file: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
  opts: RunOptions,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const res = { stdout, stderr, code: code ?? 1 };
      if (res.code !== 0 && !opts.allowFail)
        reject(new Error(`${file} ${argv.join(' ')} failed (${res.code}): ${stderr.trim()}`));
      else resolve(res);
    });
    child.stdin.end(opts.input);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(
  what: string,
  fn: () => Promise<boolean>,
  timeoutMs = 20_000,
  stepMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await sleep(stepMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** true when PID is alive and its command line mentions `marker` (guards against PID reuse). */
export async function isOurs(pid: number, marker: string): Promise<boolean> {
  const { readFile } = await import('node:fs/promises');
  try {
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return cmd.includes(marker) && stat.split(' ')[2] !== 'Z';
  } catch {
    return false;
  }
}

export interface StopOptions {
  /** The first signal (default SIGTERM); KILL follows after graceMs. */
  signal?: NodeJS.Signals;
  graceMs?: number;
}

/** TERM (or `signal`), wait, then KILL — only if the PID is still ours; resolves once it is gone. */
export async function stopPid(
  pid: number,
  marker: string,
  opts: StopOptions | number = {},
): Promise<boolean> {
  const { signal = 'SIGTERM', graceMs = 5_000 } = typeof opts === 'number' ? { graceMs: opts } : opts;
  if (!(await isOurs(pid, marker))) return false;
  try {
    process.kill(pid, signal);
  } catch {
    return false;
  }
  const gone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && (await isOurs(pid, marker))) await sleep(50);
    return !(await isOurs(pid, marker));
  };
  if (await gone(graceMs)) return true;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {}
  await gone(2_000);
  return true;
}

/** Mount points at or below `dir` (rm -rf must not cross one). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile('/proc/self/mounts', 'utf8');
  const decode = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  return text
    .split('\n')
    .map((l) => decode(l.split(' ')[1] ?? ''))
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}
