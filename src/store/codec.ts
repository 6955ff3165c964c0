/**
 * Records ↔ rows. Every write is validated before it reaches a backend, and every read is
 * validated again, so a damaged or hand-edited row surfaces as StoreError('corrupt') naming its
 * key instead of a crash somewhere downstream. Messages carry field paths and zod's wording,
 * never field values (a cluster row holds a password).
 */
import type { z } from 'zod';
import { InputError, StoreError } from '../errors/index.ts';
import type { RowWrite } from './backend.ts';
import type { Table } from './types.ts';

export function describeKey(table: { noun: string }, key: readonly string[]): string {
  return `${table.noun} "${key.join('/')}"`;
}

export function keyOf<R>(table: Table<R>, value: Partial<R>): string[] {
  return table.keyFields.map((f) => {
    const v = value[f];
    if (typeof v !== 'string' || v === '')
      throw new InputError('invalid-argument', `${table.noun}: key field "${f}" must be a non-empty string`);
    return v;
  });
}

function summarize(error: z.ZodError): string {
  const shown = error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`);
  if (error.issues.length > 3) shown.push(`and ${error.issues.length - 3} more`);
  return shown.join('; ');
}

/** Validates a record and turns it into a row. Unknown fields are dropped. */
export function encodeRecord<R>(table: Table<R>, record: R): RowWrite {
  const parsed = table.schema.safeParse(record);
  if (!parsed.success) {
    const key = table.keyFields.map((f) => String((record as Record<string, unknown>)[f]));
    throw new InputError(
      'invalid-argument',
      `cannot store ${describeKey(table, key)}: ${summarize(parsed.error)}`,
    );
  }
  const value = parsed.data as Record<string, unknown>;
  return {
    data: JSON.stringify(value),
    index: table.indexFields.map((f) => {
      const v = value[f];
      return typeof v === 'string' ? v : null;
    }),
  };
}

/** Parses and validates a row read back from `location` under `key`. */
export function decodeRecord<R>(table: Table<R>, key: readonly string[], data: string, location: string): R {
  const corrupt = (why: string) =>
    new StoreError('corrupt', `store ${location}: ${describeKey(table, key)} is corrupt: ${why}`);
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    // The parser's message quotes the text, which may hold a secret: say only what it is.
    throw corrupt('not valid JSON');
  }
  const parsed = table.schema.safeParse(json);
  if (!parsed.success) throw corrupt(summarize(parsed.error));
  const own = keyOf(table, parsed.data as Partial<R>);
  if (own.some((part, i) => part !== key[i])) throw corrupt(`the record's own key is "${own.join('/')}"`);
  return parsed.data;
}
