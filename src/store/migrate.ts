/**
 * Schema versions, shared by both backends. A store records the version of the last migration
 * applied (SQLite: PRAGMA user_version; etcd: the `<prefix>/schema` key); 0 is a new, empty
 * store. Migrations are numbered 1, 2, 3… with no gaps and are never edited once released.
 */
import { StoreError } from '../errors/index.ts';

export interface Versioned {
  version: number;
  description: string;
}

export function latestVersion(migrations: readonly Versioned[]): number {
  return migrations.at(-1)?.version ?? 0;
}

/**
 * The migrations to apply to a store at `current`, in order. A store newer than the newest
 * migration was written by a newer N-Net: refuse it rather than misread it.
 */
export function pendingMigrations<M extends Versioned>(
  current: number,
  migrations: readonly M[],
  location: string,
): M[] {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`store migrations out of order: #${i} has version ${m.version}`);
  });
  const latest = latestVersion(migrations);
  if (!Number.isInteger(current) || current < 0)
    throw new StoreError('corrupt', `store ${location}: schema version "${current}" is not a version number`);
  if (current > latest)
    throw new StoreError(
      'corrupt',
      `store ${location} has schema version ${current}, newer than this N-Net understands (${latest}): ` +
        'upgrade N-Net on this host, or point it at another store',
    );
  return migrations.slice(current);
}
