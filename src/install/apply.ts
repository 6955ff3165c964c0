/**
 * The install step's I/O: each file goes through a temporary file in its own directory (so the
 * rename is atomic), fsync'd, then renamed over the old one and the directory fsync'd. A file whose
 * content and mode are already right is not rewritten (its inode and mtime stay). Killed at any
 * point, the old file is intact: at worst a temporary `.NAME.nnet-install-PID.tmp` is left, which
 * the next run removes (and which libcni ignores: it reads only .conf, .conflist and .json).
 *
 * Order: the plugin binary, then the conflist, so the runtime never reads a
 * conflist naming what is not installed yet.
 */
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { InstallPlan } from './plan.ts';

export type FileOutcome = 'installed' | 'unchanged';

export interface InstallReport {
  plugin: FileOutcome;
  conflist: FileOutcome;
  /** Temporary files of an earlier, interrupted run that were removed. */
  removedLeftovers: string[];
}

const TEMP = /^\..+\.nnet-install-\d+\.tmp$/;
const tempPath = (dest: string) => join(dirname(dest), `.${basename(dest)}.nnet-install-${process.pid}.tmp`);

async function sameFile(a: string, b: string, mode: number): Promise<boolean> {
  try {
    const st = await stat(b);
    if (!st.isFile() || (st.mode & 0o7777) !== mode) return false;
    const [x, y] = await Promise.all([readFile(a), readFile(b)]);
    return x.equals(y);
  } catch {
    return false;
  }
}

async function sameContent(content: Buffer, dest: string, mode: number): Promise<boolean> {
  try {
    const st = await stat(dest);
    return st.isFile() && (st.mode & 0o7777) === mode && (await readFile(dest)).equals(content);
  } catch {
    return false;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `source` (a file streamed, or bytes) to a fresh temporary file next to `dest`. */
async function writeTemp(source: string | Buffer, dest: string, mode: number): Promise<string> {
  const tmp = tempPath(dest);
  await unlink(tmp).catch(() => undefined);
  const fh = await open(tmp, 'wx', mode);
  try {
    if (typeof source === 'string') {
      for await (const chunk of createReadStream(source)) await fh.write(chunk as Buffer);
    } else await fh.writeFile(source);
    await fh.chmod(mode); // the umask may have narrowed it
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  return tmp;
}

async function commit(tmp: string, dest: string): Promise<void> {
  await rename(tmp, dest);
  await fsyncDir(dirname(dest));
}

/** Copies the file `source` to `dest` atomically; leaves `dest` alone when it already matches. */
export async function installFile(source: string, dest: string, mode: number): Promise<FileOutcome> {
  // Streamed to the temporary file first: the source may be large, and is read once.
  const tmp = await writeTemp(source, dest, mode);
  if (await sameFile(tmp, dest, mode)) {
    await unlink(tmp);
    return 'unchanged';
  }
  await commit(tmp, dest);
  return 'installed';
}

/** Writes `content` to `dest` atomically; leaves `dest` alone when it already holds it. */
export async function writeFileAtomic(
  dest: string,
  content: string | Buffer,
  mode: number,
): Promise<FileOutcome> {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  if (await sameContent(bytes, dest, mode)) return 'unchanged';
  await commit(await writeTemp(bytes, dest, mode), dest);
  return 'installed';
}

/** Removes temporary files an interrupted run left in `dir`. */
export async function removeLeftovers(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const stale = names.filter((n) => TEMP.test(n));
  await Promise.all(stale.map((n) => unlink(join(dir, n)).catch(() => undefined)));
  return stale.map((n) => join(dir, n));
}

export async function applyInstall(plan: InstallPlan): Promise<InstallReport> {
  const dirs = [dirname(plan.plugin.dest), dirname(plan.conflist.dest)];
  const removedLeftovers = (await Promise.all([...new Set(dirs)].map(removeLeftovers))).flat();

  const plugin = await installFile(plan.plugin.source, plan.plugin.dest, plan.plugin.mode);
  const conflist = await writeFileAtomic(plan.conflist.dest, plan.conflist.content, plan.conflist.mode);
  return { plugin, conflist, removedLeftovers };
}
