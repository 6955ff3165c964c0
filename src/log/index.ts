/**
 * JSON-lines logger. Writes synchronously to a file (a CNI plugin process may exit right after),
 * never to stdout. Values under keys that look secret are replaced before anything is written.
 *
 *   const log = createLogger({ file: '/var/log/nnet/nnet.log', component: 'cni' });
 *   log.info('port bound', { portId, host });
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /pass(word)?|secret|token|credential|authorization|x-auth/i;

/** Deep copy with every value under a secret-looking key replaced by "[redacted]". */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

export interface LoggerOptions {
  /** Log file; undefined = discard (never stdout). */
  file?: string | undefined;
  component: string;
  level?: LogLevel;
  /** Alternative sink, for the agent (stderr) or tests. */
  sink?: (line: string) => void;
}

export function createLogger(options: LoggerOptions, bound: LogFields = {}): Logger {
  const min = LEVELS[options.level ?? 'info'];
  let sink = options.sink;
  if (!sink && options.file) {
    const file = options.file;
    let dirReady = false;
    sink = (line) => {
      if (!dirReady) {
        mkdirSync(dirname(file), { recursive: true });
        dirReady = true;
      }
      appendFileSync(file, line, { mode: 0o640 });
    };
  }
  const write = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (!sink || LEVELS[level] < min) return;
    const record = {
      ts: new Date().toISOString(),
      level,
      component: options.component,
      pid: process.pid,
      msg,
      ...(redact({ ...bound, ...fields }) as LogFields),
    };
    try {
      sink(`${JSON.stringify(record)}\n`);
    } catch {
      // Logging must never break the operation being logged.
    }
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (f) => createLogger(options, { ...bound, ...f }),
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = createLogger({ component: 'silent' });
