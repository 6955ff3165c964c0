/**
 * What a backend (SQLite, etcd) provides to the generic store: rows of JSON text under a key
 * (the table's key fields, in order). Backends know nothing about record types; the generic
 * layer (store.ts) validates and stamps records.
 */
import type { AnyTable } from './types.ts';

/** A row to write: the record's JSON and the values of the table's index fields, in order. */
export interface RowWrite {
  data: string;
  index: (string | null)[];
}

export interface Row {
  key: string[];
  data: string;
}

/** Field → value; fields are the table's key or index fields. */
export type RowFilter = Record<string, string>;

export interface Backend {
  /** The store URL, for messages (holds no secret). */
  readonly location: string;
  get(table: AnyTable, key: string[]): Promise<string | undefined>;
  /** Rows matching `filter`; a backend may return more (the caller filters again), never fewer. */
  list(table: AnyTable, filter: RowFilter): Promise<Row[]>;
  /** Writes a new row; StoreError('conflict') when the key exists. */
  insert(table: AnyTable, key: string[], row: RowWrite): Promise<void>;
  /**
   * Atomic read-modify-write of one row. `fn` gets the current data (undefined when absent) and
   * returns the row to write, or undefined to leave it alone; it may be called more than once
   * (etcd retries a lost compare-and-swap), so it must not have side effects. Returns the data
   * the row holds afterwards.
   */
  update(
    table: AnyTable,
    key: string[],
    fn: (current: string | undefined) => RowWrite | undefined,
  ): Promise<string | undefined>;
  /** True when a row was deleted; a missing row is not an error. */
  delete(table: AnyTable, key: string[]): Promise<boolean>;
  close(): Promise<void>;
}
