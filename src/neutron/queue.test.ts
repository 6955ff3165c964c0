import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRequestQueue } from './queue.ts';

function gate() {
  let open: () => void = () => {};
  const p = new Promise<void>((r) => {
    open = r;
  });
  return { p, open };
}

test('at most `concurrency` run at once; the rest wait in order', async () => {
  const q = createRequestQueue({ concurrency: 2, backgroundConcurrency: 1 });
  const g = gate();
  let running = 0;
  let peak = 0;
  const job = (i: number) =>
    q.run(
      async () => {
        running += 1;
        peak = Math.max(peak, running);
        await g.p;
        running -= 1;
        return i;
      },
      { priority: 'foreground' },
    );
  const all = Promise.all([0, 1, 2, 3].map(job));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(q.stats(), { running: 2, waiting: 2 });
  g.open();
  assert.deepEqual(await all, [0, 1, 2, 3]);
  assert.equal(peak, 2);
});

test('foreground requests go first, and background work never takes more than its share', async () => {
  const q = createRequestQueue({ concurrency: 2, backgroundConcurrency: 1 });
  const order: string[] = [];
  const g = gate();
  const hold = q.run(() => g.p, { priority: 'foreground' });
  const bg1 = q.run(async () => order.push('bg1'), { priority: 'background' });
  const bg2 = q.run(async () => order.push('bg2'), { priority: 'background' });
  const fg = q.run(async () => order.push('fg'), { priority: 'foreground' });
  await Promise.all([bg1, bg2, fg]);
  assert.deepEqual(order, ['bg1', 'fg', 'bg2']);
  g.open();
  await hold;
});

test('a request whose deadline passes while it waits leaves the queue with the deadline’s reason', async () => {
  const q = createRequestQueue({ concurrency: 1, backgroundConcurrency: 1 });
  const g = gate();
  const hold = q.run(() => g.p, { priority: 'foreground' });
  const ac = new AbortController();
  let ran = false;
  const waiting = q.run(
    async () => {
      ran = true;
    },
    { priority: 'foreground', signal: ac.signal },
  );
  ac.abort(new DOMException('deadline', 'TimeoutError'));
  await assert.rejects(waiting, { name: 'TimeoutError' });
  assert.deepEqual(q.stats(), { running: 1, waiting: 0 });
  g.open();
  await hold;
  assert.equal(ran, false);
});
