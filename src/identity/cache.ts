/**
 * The on-disk token cache shared by processes (each CNI call is a new process). One 0600 file per
 * credentials, named by a hash of everything that identifies them including the secret (so a
 * changed password misses the cache), written atomically (tmp + rename). Anything unreadable is a
 * miss, and the next write replaces it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** The cached state, or undefined for a missing, unreadable or malformed file. */
export function readCache(file: string): AuthState | undefined {
  let raw: Stored;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Stored;
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
  mkdirSync(dir, { recursive: true, mode: 0o700 });
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
