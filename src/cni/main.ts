/**
 * The plugin's entry: env + stdin → parse → dispatch to a verb table → exactly one JSON document
 * on stdout (a result for ADD, the version info for VERSION, an error on failure, nothing for a
 * successful DEL, CHECK, STATUS or GC) → exit code. Testable without spawning a process: the
 * caller passes env, stdin, the verbs and a stdout sink. Logs go to the config's log file, never to
 * stdout. Whatever goes wrong, including a throw of a non-Error, ends as spec error JSON.
 *
 *   const code = await runPlugin({ env: process.env, stdin: () => readAll(process.stdin), verbs,
 *     stdout: process.stdout });
 */
import { InputError } from '../errors/index.ts';
import { createLogger, type LogFields, type Logger, type LogLevel } from '../log/index.ts';
import type { NetConf } from './config.ts';
import { type CniArgs, type CniInvocation, type Env, parseCommand, parseEnv } from './env.ts';
import { type CniFailure, errorJson, safeStack, safeText, toCniError } from './errors.ts';
import {
  type Attachment,
  CniCode,
  type CniCommand,
  type CniResult,
  type CniVersion,
  LATEST_VERSION,
} from './spec.ts';
import { versionJson } from './version.ts';

// ---- What the verbs receive and return.

interface VerbRequest {
  conf: NetConf;
  /** Bound to the command, container and pod; writes to conf.logFile. */
  log: Logger;
  /** Aborted (reason: a TimeoutError) when conf.timeouts.totalMs has passed. */
  signal: AbortSignal;
  /** now() + conf.timeouts.totalMs, in the clock runPlugin was given. */
  deadline: number;
}
interface AttachmentRequest extends VerbRequest {
  containerId: string;
  ifname: string;
  args: CniArgs;
  cniPath: string[];
}
export interface AddRequest extends AttachmentRequest {
  netns: string;
}
export interface DelRequest extends AttachmentRequest {
  /** May be absent: the runtime lost the netns; clean up what can be cleaned up. */
  netns: string | undefined;
  prevResult: CniResult | undefined;
}
export interface CheckRequest extends AttachmentRequest {
  netns: string;
  prevResult: CniResult;
}
export type StatusRequest = VerbRequest;
export interface GcRequest extends VerbRequest {
  validAttachments: Attachment[];
}
/** What a STATUS verb returns when the plugin cannot serve ADD. */
export interface StatusProblem {
  code: typeof CniCode.PluginNotAvailable | typeof CniCode.LimitedConnectivity;
  msg: string;
  details?: string;
}

/**
 * The verbs the lead implements. Failures are thrown as src/errors domain errors; toCniError maps
 * them. `add` returns only this plugin's attachment: runPlugin merges a chained prevResult and
 * encodes for the config's cniVersion.
 */
export interface Verbs {
  add(req: AddRequest): Promise<CniResult>;
  del(req: DelRequest): Promise<void>;
  check(req: CheckRequest): Promise<void>;
  /** undefined: ready. A thrown error also means "not available" (code 50). */
  status(req: StatusRequest): Promise<StatusProblem | undefined>;
  gc(req: GcRequest): Promise<void>;
}

export interface PluginIO {
  env: Env;
  /** The config bytes, or a reader called once (never for VERSION, never twice). */
  stdin: string | Uint8Array | (() => Promise<string | Uint8Array>);
  /** The verb table, or a loader for it (called only when a verb runs). */
  verbs: Verbs | (() => Promise<Verbs>);
  stdout: { write(chunk: string): unknown };
  /** Clock in ms (default Date.now), for deadlines and durations. */
  now?: () => number;
  /** Default nodeName (default os.hostname()). */
  hostname?: string;
  /** Opens the log; default: a JSON-lines file logger. Tests pass a sink. */
  openLog?: (file: string, level: LogLevel) => Logger;
  /** Log file used when the config cannot be read (default /var/log/nnet/nnet.log). */
  fallbackLogFile?: string;
}

const FALLBACK_LOG_FILE = '/var/log/nnet/nnet.log';

function defaultOpenLog(file: string, level: LogLevel): Logger {
  return createLogger({ file, level, component: 'cni' });
}

/** Runs one plugin invocation; resolves to the process exit code. Never rejects. */
export async function runPlugin(io: PluginIO): Promise<number> {
  const now = io.now ?? Date.now;
  const started = now();
  let version: CniVersion = LATEST_VERSION;
  let command: CniCommand | undefined;
  let log: Logger | undefined;
  let logFile = io.fallbackLogFile ?? FALLBACK_LOG_FILE;
  let logFields: LogFields = {};

  const openLog = (file: string, level: LogLevel): Logger => {
    try {
      return (io.openLog ?? defaultOpenLog)(file, level).child(logFields);
    } catch {
      return createLogger({ component: 'cni' });
    }
  };
  /** Prints one document; false when stdout failed (then the exit code is all the runtime gets). */
  const write = (doc: unknown): boolean => {
    let line: string;
    try {
      line = `${JSON.stringify(doc)}\n`;
    } catch {
      line = `${JSON.stringify(errorJson(version, { code: 100, msg: 'internal error: the output could not be encoded' }))}\n`;
    }
    try {
      io.stdout.write(line);
      return true;
    } catch {
      return false;
    }
  };
  const fail = (e: unknown): number => {
    let failure: CniFailure;
    try {
      failure = toCniError(e, command);
    } catch {
      failure = { code: 100, msg: 'internal error: the error could not be described' };
    }
    try {
      log ??= openLog(logFile, 'info');
      log.error(`${command ?? 'command'} failed`, {
        code: failure.code,
        error: failure.msg,
        details: failure.details,
        durationMs: now() - started,
        // The stack goes to the log file only, for internal errors worth a bug report.
        stack: failure.code === 100 && e instanceof Error && e.stack ? safeStack(e) : undefined,
      });
    } catch {
      // A failing log must not hide the error from the runtime.
    }
    write(errorJson(version, failure));
    return 1;
  };

  try {
    command = parseCommand(io.env);
    logFields = { command };
    if (command === 'VERSION') return write(versionJson()) ? 0 : 1;
    const stdin = await readInput(io.stdin);
    const { decodeConfig, logFileProblem, parseNetConf, peekVersion } = await import('./config.ts');
    // Decode before checking the environment only to answer in the config's cniVersion; as in
    // libcni's skel, a bad environment is reported before a bad config.
    let raw: Record<string, unknown> | undefined;
    let decodeError: unknown;
    try {
      raw = decodeConfig(stdin);
      version = peekVersion(raw) ?? LATEST_VERSION;
      // Until the config validates, errors go to the log file it names, if it names a plausible one.
      if (typeof raw.logFile === 'string' && logFileProblem(raw.logFile) === undefined) logFile = raw.logFile;
    } catch (e) {
      decodeError = e;
    }
    const inv = parseEnv(io.env);
    logFields = invocationFields(inv);
    if (raw === undefined) throw decodeError;
    const conf = parseNetConf(raw, { command, hostname: io.hostname });
    log = openLog(conf.logFile, conf.logLevel);

    const outcome = await dispatch(io, inv, conf, log, now);
    if (outcome.kind === 'not-ready') {
      const { code, msg, details } = outcome.problem;
      log.warn(`${command} not ready`, { code, error: msg, details, durationMs: now() - started });
      write(errorJson(version, statusFailure(code, msg, details)));
      return 1;
    }
    log.info(`${command} ok`, { durationMs: now() - started });
    if (outcome.kind === 'result') return write(outcome.doc) ? 0 : 1;
    return 0;
  } catch (e) {
    return fail(e);
  }
}

function statusFailure(code: number, msg: unknown, details: unknown): CniFailure {
  const f: CniFailure = {
    code: code === CniCode.LimitedConnectivity ? code : CniCode.PluginNotAvailable,
    msg: (typeof msg === 'string' && safeText(msg, 1024)) || 'nnet is not available',
  };
  if (typeof details === 'string' && details !== '') f.details = safeText(details, 4096);
  return f;
}

async function readInput(stdin: PluginIO['stdin']): Promise<string | Uint8Array> {
  if (typeof stdin !== 'function') return stdin;
  try {
    return await stdin();
  } catch (e) {
    throw new InputError('io', 'could not read the network config from stdin', {
      cause: e,
      details: e instanceof Error ? e.message : undefined,
    });
  }
}

function invocationFields(inv: CniInvocation): LogFields {
  if (!('containerId' in inv)) return { command: inv.command };
  const pod =
    inv.args.podNamespace && inv.args.podName ? `${inv.args.podNamespace}/${inv.args.podName}` : undefined;
  return { command: inv.command, containerId: inv.containerId, ifname: inv.ifname, netns: inv.netns, pod };
}

type Outcome =
  | { kind: 'result'; doc: Record<string, unknown> }
  | { kind: 'done' }
  | { kind: 'not-ready'; problem: StatusProblem };

async function dispatch(
  io: PluginIO,
  inv: CniInvocation,
  conf: NetConf,
  log: Logger,
  now: () => number,
): Promise<Outcome> {
  const totalMs = conf.timeouts.totalMs;
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const reason = new DOMException(`nnet ${inv.command} timed out after ${totalMs} ms`, 'TimeoutError');
      controller.abort(reason);
      reject(reason);
    }, totalMs);
  });
  const base = { conf, log, signal: controller.signal, deadline: now() + totalMs };
  const run = async (): Promise<Outcome> => {
    const verbs = typeof io.verbs === 'function' ? await io.verbs() : io.verbs;
    switch (inv.command) {
      case 'ADD': {
        const { containerId, ifname, netns, args, cniPath } = inv;
        const ours = await verbs.add({ ...base, containerId, ifname, netns, args, cniPath });
        const { encodeResult, mergeWithPrevResult } = await import('./result.ts');
        return {
          kind: 'result',
          doc: encodeResult(mergeWithPrevResult(conf.prevResult, ours), conf.cniVersion),
        };
      }
      case 'DEL': {
        const { containerId, ifname, netns, args, cniPath } = inv;
        await verbs.del({ ...base, containerId, ifname, netns, args, cniPath, prevResult: conf.prevResult });
        return { kind: 'done' };
      }
      case 'CHECK': {
        const { containerId, ifname, netns, args, cniPath } = inv;
        // parseNetConf guarantees prevResult for CHECK.
        await verbs.check({
          ...base,
          containerId,
          ifname,
          netns,
          args,
          cniPath,
          prevResult: conf.prevResult!,
        });
        return { kind: 'done' };
      }
      case 'STATUS': {
        const problem = await verbs.status(base);
        return problem === undefined || problem === null ? { kind: 'done' } : { kind: 'not-ready', problem };
      }
      case 'GC':
        await verbs.gc({ ...base, validAttachments: conf.validAttachments ?? [] });
        return { kind: 'done' };
      case 'VERSION':
        return { kind: 'result', doc: { ...versionJson() } };
    }
  };
  const running = run();
  try {
    return await Promise.race([running, timedOut]);
  } catch (e) {
    // Past the deadline the verb's requests are aborted; give its undo a moment to finish so
    // that nothing is left half-made, then answer.
    if (controller.signal.aborted) await settled(running, UNDO_GRACE_MS);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** How long a verb that ran out of time may take to undo what it did. */
const UNDO_GRACE_MS = 20_000;

function settled(p: Promise<unknown>, ms: number): Promise<void> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((r) => {
      t = setTimeout(r, ms);
    }),
  ]).finally(() => clearTimeout(t));
}
