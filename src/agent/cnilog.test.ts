import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { followCniLog, parseCniLogLine } from './cnilog.ts';

const line = (o: Record<string, unknown>) =>
  `${JSON.stringify({ ts: '2025-01-01T00:00:00Z', level: 'info', component: 'cni', pid: 1, ...o })}\n`;

test("the plugin's final log line of a verb becomes an operation with its result and duration", () => {
  assert.deepEqual(parseCniLogLine(line({ msg: 'ADD ok', command: 'ADD', durationMs: 1234 }).trim()), {
    command: 'ADD',
    result: 'ok',
    seconds: 1.234,
  });
  assert.equal(
    parseCniLogLine(line({ msg: 'DEL failed', command: 'DEL', durationMs: 5, code: 11 }).trim())?.result,
    'error',
  );
  assert.equal(
    parseCniLogLine(line({ msg: 'STATUS not ready', command: 'STATUS', durationMs: 5 }).trim())?.result,
    'not-ready',
  );
});

test('other lines, other components and garbage are ignored', () => {
  for (const l of [
    line({ msg: 'port acquired', command: 'ADD' }),
    line({ msg: 'ADD ok', command: 'ADD', durationMs: 'soon' }),
    line({ msg: 'ADD ok', command: 'FROB', durationMs: 1 }),
    line({ msg: 'ADD ok', command: 'ADD', durationMs: 1, component: 'agent' }),
    '{"half": ',
    'plain text',
    'null',
  ])
    assert.equal(parseCniLogLine(l.trim()), undefined, l);
});

test('the follower reads appended lines once, holds a partial line, and restarts after rotation', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nnta-cnilog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'nnet.log');
  writeFileSync(file, line({ msg: 'ADD ok', command: 'ADD', durationMs: 1 }));
  const f = await followCniLog(file);
  assert.deepEqual(await f.poll(), [], 'history before the agent started is not counted');
  const next = line({ msg: 'DEL ok', command: 'DEL', durationMs: 20 });
  appendFileSync(file, next.slice(0, 10));
  assert.deepEqual(await f.poll(), []);
  appendFileSync(file, next.slice(10));
  assert.deepEqual(await f.poll(), [{ command: 'DEL', result: 'ok', seconds: 0.02 }]);
  assert.deepEqual(await f.poll(), []);
  renameSync(file, `${file}.1`);
  writeFileSync(file, line({ msg: 'CHECK failed', command: 'CHECK', durationMs: 3 }));
  assert.deepEqual(await f.poll(), [{ command: 'CHECK', result: 'error', seconds: 0.003 }]);
});

test('a log file that does not exist yet is followed from its start once it appears', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nnta-cnilog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'later.log');
  const f = await followCniLog(file);
  assert.deepEqual(await f.poll(), []);
  writeFileSync(file, line({ msg: 'ADD ok', command: 'ADD', durationMs: 7 }));
  assert.equal((await f.poll()).length, 1);
});
