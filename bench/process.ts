/**
 * Process cost of the binaries: wall time (spawn to exit, median of many runs) and peak RSS
 * (GNU time's %M: the largest max-RSS of the process and its waited-for children).
 */
import { spawnSync } from 'node:child_process';
import { SYSTEM_PATH } from '../lab/sh.ts';
import { type Summary, summary } from './stats.ts';

export interface ProcessCost {
  label: string;
  argv: string[];
  runs: number;
  wallMs: Summary;
  peakRssMb: Summary;
  wallRaw: number[];
  rssRawKb: number[];
  output: string;
}

function once(argv: string[], env: Record<string, string>): { wallMs: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { env: { PATH: SYSTEM_PATH, ...env }, encoding: 'utf8' });
  const wallMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { wallMs, out: r.stdout };
}

function rssKb(argv: string[], env: Record<string, string>): number {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], {
    env: { PATH: SYSTEM_PATH, ...env },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`/usr/bin/time ${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return Number(r.stderr.trim().split('\n').at(-1));
}

export interface ProcessSpec {
  label: string;
  argv: string[];
  env?: Record<string, string>;
}

/** Runs every spec `runs` times, interleaved (one warm-up run each first, not counted). */
export function measureProcesses(specs: readonly ProcessSpec[], runs: number): ProcessCost[] {
  const wall = specs.map(() => [] as number[]);
  const rss = specs.map(() => [] as number[]);
  const outputs = specs.map((s) => once(s.argv, s.env ?? {}).out.trim());
  for (let i = 0; i < runs; i++) {
    for (const [k, s] of specs.entries()) {
      wall[k]!.push(once(s.argv, s.env ?? {}).wallMs);
      rss[k]!.push(rssKb(s.argv, s.env ?? {}));
    }
  }
  return specs.map((s, k) => ({
    label: s.label,
    argv: s.argv,
    runs,
    wallMs: summary(wall[k]!),
    peakRssMb: summary(rss[k]!.map((x) => x / 1024)),
    wallRaw: wall[k]!,
    rssRawKb: rss[k]!,
    output: outputs[k]!.split('\n')[0]!.slice(0, 200),
  }));
}

export interface FirstFetch {
  url: string;
  firstMs: Summary;
  secondMs: Summary;
}

/**
 * In a fresh node process, the first fetch() against a local server and the second: the
 * difference is loading and initialising undici, which every plugin process pays once.
 */
export function measureFirstFetch(url: string, runs: number): FirstFetch {
  const script = `const t0 = performance.now();
await (await fetch(${JSON.stringify(url)})).text();
const t1 = performance.now();
await (await fetch(${JSON.stringify(url)})).text();
console.log(JSON.stringify([t1 - t0, performance.now() - t1]));
process.exit(0);`;
  const first: number[] = [];
  const second: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: SYSTEM_PATH },
      encoding: 'utf8',
    });
    const [a, b] = JSON.parse(r.stdout || '[null,null]') as [number | null, number | null];
    first.push(a ?? Number.NaN);
    second.push(b ?? Number.NaN);
  }
  return { url, firstMs: summary(first), secondMs: summary(second) };
}
