/**
 * One bounded queue for a node's Neutron requests: at most `concurrency` in flight, the CNI
 * commands' ('foreground') served before the agent's own work ('background': pool refills,
 * owner updates, reconciles), which never takes more than `backgroundConcurrency` slots. A
 * request waits here as long as its command's deadline allows: an aborted signal takes it out.
 *
 *   const q = createRequestQueue({ concurrency: 4, backgroundConcurrency: 2 });
 *   await q.run(() => fetch(url), { priority: 'foreground', signal });
 */

export type RequestPriority = 'foreground' | 'background';

export interface RequestQueue {
  run<T>(
    fn: () => Promise<T>,
    o: { priority: RequestPriority; signal?: AbortSignal | undefined },
  ): Promise<T>;
  /** In flight and waiting, for metrics. */
  stats(): { running: number; waiting: number };
}

interface Waiter {
  priority: RequestPriority;
  start: () => void;
}

export function createRequestQueue(o: { concurrency: number; backgroundConcurrency: number }): RequestQueue {
  if (!(o.concurrency >= 1 && o.backgroundConcurrency >= 1 && o.backgroundConcurrency <= o.concurrency))
    throw new RangeError('a request queue needs 1 <= backgroundConcurrency <= concurrency');
  let running = 0;
  let background = 0;
  const waiting: Waiter[] = [];

  const mayStart = (p: RequestPriority) =>
    running < o.concurrency && (p === 'foreground' || background < o.backgroundConcurrency);

  function next(): void {
    for (;;) {
      const i = waiting.findIndex((w) => w.priority === 'foreground' && mayStart('foreground'));
      const j = i >= 0 ? i : waiting.findIndex((w) => mayStart(w.priority));
      if (j < 0) return;
      const [w] = waiting.splice(j, 1);
      w!.start();
    }
  }

  return {
    run(fn, { priority, signal }) {
      return new Promise((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        const onAbort = () => {
          const i = waiting.indexOf(waiter);
          if (i >= 0) waiting.splice(i, 1);
          reject(signal!.reason);
        };
        const waiter: Waiter = {
          priority,
          start: () => {
            signal?.removeEventListener('abort', onAbort);
            running += 1;
            if (priority === 'background') background += 1;
            fn()
              .then(resolve, reject)
              .finally(() => {
                running -= 1;
                if (priority === 'background') background -= 1;
                next();
              });
          },
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        waiting.push(waiter);
        next();
      });
    },
    stats: () => ({ running, waiting: waiting.length }),
  };
}
