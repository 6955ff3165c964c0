/**
 * A small OVSDB JSON-RPC client (RFC 7047) over a unix socket or TCP (`tcp:HOST:PORT`): transact,
 * monitor, echo replies. One connection per client; the CNI plugin opens one per call, the agent
 * keeps one for monitors.
 */
import { createConnection, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { InputError, PlugError } from '../errors/index.ts';
import { parseOvsdbTarget } from './ovsdb-target.ts';

// ---------------------------------------------------------------- wire values (RFC 7047 §5.1)
export type OvsdbAtom = string | number | boolean | ['uuid', string] | ['named-uuid', string];
export type OvsdbValue = OvsdbAtom | ['set', OvsdbAtom[]] | ['map', [OvsdbAtom, OvsdbAtom][]];
export type OvsdbRow = Record<string, OvsdbValue>;
export type OvsdbCondition = [string, string, OvsdbValue];
export type OvsdbOp = Record<string, unknown> & { op: string };

export function ovsMap(obj: Readonly<Record<string, string>>): ['map', [string, string][]] {
  return ['map', Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))];
}

/** Decodes a map column into a plain record. */
export function fromMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(v) && v[0] === 'map' && Array.isArray(v[1]))
    for (const [k, val] of v[1] as [unknown, unknown][]) out[String(k)] = String(val);
  return out;
}

/** Decodes a set column (a single element may come bare, an empty one as ["set", []]). */
export function fromSet(v: unknown): unknown[] {
  if (Array.isArray(v) && v[0] === 'set' && Array.isArray(v[1])) return v[1];
  return v === undefined ? [] : [v];
}

/** The uuid string of a ["uuid", "…"] atom. */
export function fromUuid(v: unknown): string | undefined {
  return Array.isArray(v) && v[0] === 'uuid' && typeof v[1] === 'string' ? v[1] : undefined;
}

// ---------------------------------------------------------------- framing
/**
 * Splits a byte stream of concatenated JSON texts (OVSDB puts no delimiter between messages) into
 * the complete texts seen so far.
 */
export class JsonStreamSplitter {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scanned = 0;

  push(chunk: string): string[] {
    this.buf += chunk;
    const out: string[] = [];
    let start = 0;
    for (let i = this.scanned; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
      } else if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') this.depth++;
      else if (c === '}' || c === ']') {
        this.depth--;
        if (this.depth === 0) {
          out.push(this.buf.slice(start, i + 1).trim());
          start = i + 1;
        }
      } else if (this.depth === 0 && c !== undefined && /\S/.test(c)) {
        throw new Error(`unexpected ${JSON.stringify(c)} between JSON-RPC messages`);
      }
    }
    this.buf = this.buf.slice(start);
    this.scanned = this.buf.length;
    return out;
  }
}

// ---------------------------------------------------------------- client
export type TableUpdates = Record<string, Record<string, { old?: OvsdbRow; new?: OvsdbRow }>>;
type UpdateHandler = (updates: TableUpdates) => void;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  method: string;
}

export class OvsdbClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly monitors = new Map<string, UpdateHandler>();
  private readonly splitter = new JsonStreamSplitter();
  private readonly decoder = new StringDecoder('utf8');
  private closedError: Error | undefined;
  private readonly closeHandlers: ((err: Error | undefined) => void)[] = [];

  private constructor(
    private readonly sock: Socket,
    readonly socketPath: string,
    private readonly timeoutMs: number,
  ) {
    sock.on('data', (b: Buffer) => this.onData(this.decoder.write(b)));
    sock.on('error', (e) =>
      this.fail(this.unavailable(`connection to ovsdb-server at ${socketPath} failed`, e)),
    );
    sock.on('close', () => this.fail(undefined));
  }

  /**
   * Connects to `socketPath` (a unix socket's path, or `tcp:HOST:PORT`); PlugError('ovs-unavailable')
   * when nothing answers there.
   */
  static connect(socketPath: string, timeoutMs = 10_000): Promise<OvsdbClient> {
    return new Promise((resolve, reject) => {
      const target = parseOvsdbTarget(socketPath);
      if ('problem' in target) {
        reject(
          new InputError('invalid-config', `OVSDB target ${JSON.stringify(socketPath)} ${target.problem}`),
        );
        return;
      }
      const sock =
        target.kind === 'unix'
          ? createConnection(target.path)
          : createConnection({ host: target.host, port: target.port });
      if (target.kind === 'tcp') sock.setNoDelay(true);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new PlugError('ovs-unavailable', `ovsdb-server at ${socketPath} did not accept a connection`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.removeAllListeners('error');
        resolve(new OvsdbClient(sock, socketPath, timeoutMs));
      });
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(
          new PlugError('ovs-unavailable', `cannot connect to ovsdb-server at ${socketPath}: ${e.message}`, {
            cause: e,
          }),
        );
      });
    });
  }

  get closed(): boolean {
    return this.closedError !== undefined || this.sock.destroyed;
  }

  /** Called once when the connection ends (err undefined on a clean close()). */
  onClose(handler: (err: Error | undefined) => void): void {
    this.closeHandlers.push(handler);
  }

  close(): void {
    this.sock.end();
    this.sock.destroy();
  }

  private unavailable(msg: string, e?: Error): PlugError {
    return new PlugError('ovs-unavailable', e ? `${msg}: ${e.message}` : msg, e ? { cause: e } : {});
  }

  private fail(err: Error | undefined): void {
    if (this.closedError) return;
    this.closedError = err ?? this.unavailable(`connection to ovsdb-server at ${this.socketPath} closed`);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(this.closedError);
    }
    this.pending.clear();
    for (const h of this.closeHandlers.splice(0)) h(err);
  }

  private send(msg: unknown): void {
    this.sock.write(JSON.stringify(msg));
  }

  private onData(text: string): void {
    let msgs: string[];
    try {
      msgs = this.splitter.push(text);
    } catch (e) {
      this.fail(this.unavailable(`garbled data from ovsdb-server at ${this.socketPath}`, e as Error));
      this.sock.destroy();
      return;
    }
    for (const m of msgs) {
      let msg: { id?: unknown; method?: string; params?: unknown[]; result?: unknown; error?: unknown };
      try {
        msg = JSON.parse(m);
      } catch {
        continue;
      }
      if (msg.method === 'echo') this.send({ id: msg.id, result: msg.params ?? [], error: null });
      else if (msg.method === 'update' && Array.isArray(msg.params)) {
        const [monId, updates] = msg.params as [unknown, TableUpdates];
        this.monitors.get(JSON.stringify(monId))?.(updates);
      } else if (typeof msg.id === 'number') {
        const p = this.pending.get(msg.id);
        if (!p) continue;
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.error !== null && msg.error !== undefined)
          p.reject(new PlugError('link', `ovsdb ${p.method} failed: ${JSON.stringify(msg.error)}`));
        else p.resolve(msg.result);
      }
    }
  }

  /** Sends one JSON-RPC request and resolves with its result. */
  request(method: string, params: unknown[], timeoutMs = this.timeoutMs): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          this.unavailable(
            `ovsdb-server at ${this.socketPath} did not answer ${method} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, method });
      this.send({ method, params, id });
    });
  }

  /**
   * Runs a transaction. Throws PlugError('link') naming the first failed operation (a failed
   * transaction has an error object in place of that operation's result, RFC 7047 §4.1.3).
   */
  async transact(ops: OvsdbOp[], db = 'Open_vSwitch'): Promise<Record<string, unknown>[]> {
    const result = (await this.request('transact', [db, ...ops])) as (Record<string, unknown> | null)[];
    const failed = result.findIndex((r) => r !== null && typeof r === 'object' && 'error' in r);
    if (failed >= 0) {
      const r = result[failed]!;
      const what =
        failed < ops.length ? `${ops[failed]!.op} on ${String(ops[failed]!.table ?? '?')}` : 'commit';
      // `details` carries ovsdb-server's error string ("constraint violation", …) for callers to test.
      throw new PlugError(
        'link',
        `OVSDB transaction failed at ${what}: ${String(r.error)}${r.details ? ` (${String(r.details)})` : ''}`,
        { details: String(r.error) },
      );
    }
    return result.map((r) => r ?? {});
  }

  /**
   * Starts a monitor (RFC 7047 §4.1.5): resolves with the initial contents, then calls `onUpdate`
   * for every change until `cancelMonitor` or close.
   */
  async monitor(
    monId: string,
    requests: Record<string, { columns?: string[]; select?: Record<string, boolean> }>,
    onUpdate: UpdateHandler,
    db = 'Open_vSwitch',
  ): Promise<TableUpdates> {
    this.monitors.set(JSON.stringify(monId), onUpdate);
    try {
      return (await this.request('monitor', [db, monId, requests])) as TableUpdates;
    } catch (e) {
      this.monitors.delete(JSON.stringify(monId));
      throw e;
    }
  }

  async cancelMonitor(monId: string): Promise<void> {
    this.monitors.delete(JSON.stringify(monId));
    if (!this.closed) await this.request('monitor_cancel', [monId]).catch(() => {});
  }
}
