/**
 * Progress output for the lab: each step as it starts and ends, with its real duration, then a
 * summary of where the time went. The clock starts at `t0Ms` (scripts/lab.sh passes the moment it
 * started, so the installs it ran before Node count in the same timeline).
 */

export interface StepTime {
  what: string;
  ms: number;
}

export interface StepLog {
  step<T>(what: string, fn: () => Promise<T>): Promise<T>;
  /** A step that ran before this log existed (e.g. scripts/lab.sh's installs), for the summary. */
  record(what: string, ms: number): void;
  info(line: string): void;
  elapsedS(): number;
  times(): StepTime[];
}

export function stepLog(out: (line: string) => void = (l) => console.log(l), t0Ms = Date.now()): StepLog {
  const secs = (ms: number) => (ms / 1000).toFixed(1).padStart(5);
  const times: StepTime[] = [];
  return {
    async step(what, fn) {
      const start = Date.now();
      out(`[${secs(start - t0Ms)}s] ${what} …`);
      try {
        const r = await fn();
        const ms = Date.now() - start;
        times.push({ what, ms });
        out(`[${secs(Date.now() - t0Ms)}s] ${what}: done in ${(ms / 1000).toFixed(1)} s`);
        return r;
      } catch (e) {
        times.push({ what: `${what} (FAILED)`, ms: Date.now() - start });
        out(`[${secs(Date.now() - t0Ms)}s] ${what}: FAILED: ${e instanceof Error ? e.message : String(e)}`);
        throw e;
      }
    },
    record(what, ms) {
      times.push({ what, ms });
    },
    info(line) {
      out(`         ${line}`);
    },
    elapsedS: () => (Date.now() - t0Ms) / 1000,
    times: () => [...times],
  };
}

/** "where the time went" lines: the steps, longest first, with their share of the whole. */
export function timeSummary(times: readonly StepTime[], totalS: number): string[] {
  const total = totalS * 1000;
  return [...times]
    .sort((a, b) => b.ms - a.ms)
    .map(
      (t) =>
        `${(t.ms / 1000).toFixed(1).padStart(6)} s  ${((100 * t.ms) / Math.max(total, 1)).toFixed(0).padStart(3)}%  ${t.what}`,
    );
}
