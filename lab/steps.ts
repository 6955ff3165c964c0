/** Progress output for the lab: each step with its duration, then a summary. */

export interface StepLog {
  step<T>(what: string, fn: () => Promise<T>): Promise<T>;
  info(line: string): void;
  elapsedS(): number;
}

export function stepLog(out: (line: string) => void = (l) => console.log(l)): StepLog {
  const t0 = Date.now();
  const secs = (ms: number) => (ms / 1000).toFixed(1).padStart(5);
  return {
    async step(what, fn) {
      const start = Date.now();
      out(`[${secs(start - t0)}s] ${what} …`);
      try {
        const r = await fn();
        out(`[${secs(Date.now() - t0)}s] ${what}: done in ${((Date.now() - start) / 1000).toFixed(1)} s`);
        return r;
      } catch (e) {
        out(`[${secs(Date.now() - t0)}s] ${what}: FAILED: ${e instanceof Error ? e.message : String(e)}`);
        throw e;
      }
    },
    info(line) {
      out(`         ${line}`);
    },
    elapsedS: () => (Date.now() - t0) / 1000,
  };
}
