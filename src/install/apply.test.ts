import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { installFile, removeLeftovers, writeFileAtomic } from './apply.ts';

const dir = mkdtempSync(join(tmpdir(), 'nnt-install-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const stamp = (p: string) => {
  const st = statSync(p, { bigint: true });
  return { ino: st.ino, mtime: st.mtimeNs, mode: Number(st.mode) & 0o7777 };
};

test('a file is installed with its mode, and installing it again leaves it untouched', async () => {
  const src = join(dir, 'src');
  writeFileSync(src, 'v1');
  const dest = join(dir, 'nnet');
  assert.equal(await installFile(src, dest, 0o755), 'installed');
  const first = stamp(dest);
  assert.equal(first.mode, 0o755);
  assert.equal(await installFile(src, dest, 0o755), 'unchanged');
  assert.deepEqual(stamp(dest), first);
  writeFileSync(src, 'v2');
  assert.equal(await installFile(src, dest, 0o755), 'installed');
  assert.equal(readFileSync(dest, 'utf8'), 'v2');
  assert.notEqual(stamp(dest).ino, first.ino, 'replaced by a rename, not rewritten in place');
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.endsWith('.tmp')),
    [],
  );
});

test('a wrong mode alone makes the file be installed again', async () => {
  const dest = join(dir, 'conf');
  assert.equal(await writeFileAtomic(dest, 'x', 0o644), 'installed');
  assert.equal(await writeFileAtomic(dest, 'x', 0o600), 'installed');
  assert.equal(stamp(dest).mode, 0o600);
  assert.equal(await writeFileAtomic(dest, 'x', 0o600), 'unchanged');
});

test('a failing source leaves the old file and no temporary file', async () => {
  const dest = join(dir, 'kept');
  writeFileSync(dest, 'old');
  await assert.rejects(installFile(join(dir, 'missing'), dest, 0o755), /ENOENT/);
  assert.equal(readFileSync(dest, 'utf8'), 'old');
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.endsWith('.tmp')),
    [],
  );
});

test('leftovers of an interrupted run are removed, and only those', async () => {
  const d = mkdtempSync(join(dir, 'left-'));
  writeFileSync(join(d, '.nnet.nnet-install-42.tmp'), 'half');
  writeFileSync(join(d, '10-other.conflist'), '{}');
  writeFileSync(join(d, '.other.tmp'), '');
  assert.deepEqual(await removeLeftovers(d), [join(d, '.nnet.nnet-install-42.tmp')]);
  assert.deepEqual(readdirSync(d).sort(), ['.other.tmp', '10-other.conflist']);
});
