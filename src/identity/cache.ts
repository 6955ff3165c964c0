/**
 * The on-disk token cache shared by processes (each CNI call is a new process). One 0600 file per
 * credentials, named by a hash of everything that identifies them including the secret (so a
 * changed password misses the cache), written atomically (tmp + rename). Anything unreadable is a
 * miss, and the next write replaces it. The directory is this user's alone (secureCacheDir), and a
 * token file that is not this user's, or that others could have written, is never read.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors/index.ts';
import { parseCatalog } from './catalog.ts';
import type { Credentials } from './credentials.ts';
import type { AuthState } from './keystone.ts';

export const DEFAULT_TOKEN_CACHE_DIR = '/var/lib/nnet/tokens';
const VERSION = 1;

/** File name for these credentials: sha256 over auth URL, method, user, scope and secret. */
export function cacheKey(c: Credentials): string {
  const parts =
    c.method === 'password'
      ? [c.authUrl, c.method, c.user, c.scope ?? null, c.password]
      : [c.authUrl, c.method, c.applicationCredential];
  return createHash('sha256')
    .update(`nnet-token-cache-v${VERSION}\0`)
    .update(JSON.stringify(parts))
    .digest('hex');
}

export function cacheFile(dir: string, c: Credentials): string {
  return join(dir, `${cacheKey(c).slice(0, 40)}.json`);
}

interface Stored {
  v: number;
  token: string;
  expiresAt: string;
  issuedAt: string;
  catalog: unknown;
  user: AuthState['user'];
  project: AuthState['project'] | null;
  domain?: AuthState['domain'] | null;
}

const euid = (): number => process.geteuid?.() ?? 0;

function refuseDir(dir: string, why: string): InputError {
  return new InputError(
    'invalid-config',
    `token cache directory ${dir} ${why}: refusing to keep or read tokens there (another user could read them, or plant one); remove it, or choose another directory (tokenCacheDir in the CNI config, NNET_TOKEN_CACHE_DIR for kubenetctl)`,
  );
}

/**
 * Makes `dir` a directory only this user can enter, or refuses it: created 0700 when missing; one
 * of this user's with group or other bits is tightened to 0700; one that is another user's (or a
 * symlink of another user's, or not a directory) is refused with InputError('invalid-config').
 */
export function secureCacheDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const me = euid();
  const link = lstatSync(dir);
  if (link.isSymbolicLink() && link.uid !== me && link.uid !== 0)
    throw refuseDir(dir, `is a symlink owned by uid ${link.uid}, not by this user (uid ${me})`);
  const st = statSync(dir);
  if (!st.isDirectory()) throw refuseDir(dir, 'is not a directory');
  if (st.uid !== me) throw refuseDir(dir, `is owned by uid ${st.uid}, not by this user (uid ${me})`);
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** A token file is read only when it is a regular file of this user's that no one else can write. */
function trusted(st: Stats): boolean {
  return st.isFile() && st.uid === euid() && (st.mode & 0o022) === 0;
}

/** The file's text, or undefined when it is missing, unreadable or not trusted (checked on the open file). */
function readTrusted(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    return trusted(fstatSync(fd)) ? readFileSync(fd, 'utf8') : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * The cached state, or undefined for a missing, unreadable or malformed file, and for one that is
 * not this user's or that group or others may write (a planted token).
 */
export function readCache(file: string): AuthState | undefined {
  const text = readTrusted(file);
  if (text === undefined) return undefined;
  let raw: Stored;
  try {
    raw = JSON.parse(text) as Stored;
  } catch {
    return undefined;
  }
  if (!raw || typeof raw !== 'object' || raw.v !== VERSION) return undefined;
  if (typeof raw.token !== 'string' || raw.token.length === 0 || /[\s]/.test(raw.token)) return undefined;
  const expiresAt = new Date(raw.expiresAt);
  const issuedAt = new Date(raw.issuedAt);
  if (Number.isNaN(expiresAt.getTime()) || Number.isNaN(issuedAt.getTime())) return undefined;
  if (!raw.user || typeof raw.user.id !== 'string') return undefined;
  const p = raw.project;
  return {
    token: raw.token,
    expiresAt,
    issuedAt,
    catalog: parseCatalog(raw.catalog),
    user: { id: raw.user.id, name: typeof raw.user.name === 'string' ? raw.user.name : undefined },
    project:
      p && typeof p.id === 'string'
        ? { id: p.id, name: p.name ?? undefined, domainId: p.domainId ?? undefined }
        : undefined,
    domain:
      raw.domain && typeof raw.domain.id === 'string'
        ? { id: raw.domain.id, name: raw.domain.name ?? undefined }
        : undefined,
  };
}

/** Writes atomically with mode 0600 in a 0700 directory. Throws on I/O errors (caller decides). */
export function writeCache(file: string, dir: string, s: AuthState): void {
  secureCacheDir(dir);
  const stored: Stored = {
    v: VERSION,
    token: s.token,
    expiresAt: s.expiresAt.toISOString(),
    issuedAt: s.issuedAt.toISOString(),
    catalog: s.catalog.map((svc) => ({
      type: svc.type,
      name: svc.name,
      endpoints: svc.endpoints.map((e) => ({ url: e.url, interface: e.interface, region_id: e.region })),
    })),
    user: s.user,
    project: s.project ?? null,
    domain: s.domain ?? null,
  };
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(stored), { mode: 0o600, flag: 'wx' });
    chmodSync(tmp, 0o600); // in case the umask took bits away from the mode above
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Removes the file if it still holds `token` (another process may have replaced it already). */
export function dropCache(file: string, token: string): void {
  const current = readCache(file);
  if (current?.token === token) rmSync(file, { force: true });
}
