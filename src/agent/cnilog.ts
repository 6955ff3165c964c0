/**
 * CNI operation latencies from the plugin's JSON-lines log: runPlugin ends every verb with one
 * line carrying `command` and `durationMs` ("ADD ok", "DEL failed", "STATUS not ready"). The agent
 * follows the file from where it was when the agent started (counters start at agent start, as
 * Prometheus expects), and from the top again when the file was rotated or truncated.
 */
import { open, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

export interface CniOperation {
  command: string;
  result: 'ok' | 'error' | 'not-ready';
  seconds: number;
}

const COMMANDS = new Set(['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION']);

/** One log line → the operation it ends, or undefined for any other line (or garbage). */
export function parseCniLogLine(line: string): CniOperation | undefined {
  if (!line.startsWith('{')) return undefined;
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (r === null || typeof r !== 'object' || r.component !== 'cni') return undefined;
  const { command, durationMs, msg } = r;
  if (typeof command !== 'string' || !COMMANDS.has(command)) return undefined;
  if (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || durationMs < 0) return undefined;
  if (typeof msg !== 'string') return undefined;
  const result = msg.endsWith(' ok')
    ? 'ok'
    : msg.endsWith(' failed')
      ? 'error'
      : msg.endsWith(' not ready')
        ? 'not-ready'
        : undefined;
  return result ? { command, result, seconds: durationMs / 1000 } : undefined;
}

export interface LogFollower {
  /** Reads what was appended since the last call; returns the operations found. */
  poll(): Promise<CniOperation[]>;
}

const MAX_READ = 4 * 1024 * 1024;

/** Follows `file` from its current end (a missing file is followed from its start once it appears). */
export async function followCniLog(file: string): Promise<LogFollower> {
  let offset = await stat(file).then(
    (s) => s.size,
    () => 0,
  );
  let ino = await stat(file).then(
    (s) => s.ino,
    () => 0,
  );
  let partial = '';
  let decoder = new StringDecoder('utf8');
  return {
    async poll() {
      let s: Awaited<ReturnType<typeof stat>>;
      try {
        s = await stat(file);
      } catch {
        return [];
      }
      if (s.ino !== ino || s.size < offset) {
        // Rotated or truncated: the new file from its start.
        ino = s.ino;
        offset = 0;
        partial = '';
        decoder = new StringDecoder('utf8');
      }
      if (s.size === offset) return [];
      const length = Math.min(s.size - offset, MAX_READ);
      const fh = await open(file, 'r');
      let text: string;
      try {
        const buf = Buffer.alloc(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset);
        offset += bytesRead;
        text = partial + decoder.write(buf.subarray(0, bytesRead));
      } finally {
        await fh.close();
      }
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      if (partial.length > MAX_READ) partial = '';
      return lines.map(parseCniLogLine).filter((o): o is CniOperation => o !== undefined);
    },
  };
}
