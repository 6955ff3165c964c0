/**
 * The wire protocol between the thin `nnet` plugin and `nnet-agent`'s CNI server: one request
 * and one answer per connection on a unix socket, each one line of JSON.
 *
 *   → {"v":1,"env":{"CNI_COMMAND":"ADD",…},"stdin":"<base64>"}\n
 *   ← {"v":1,"code":0,"stdout":"{\"cniVersion\":\"1.0.0\",…}\n"}\n
 *
 * The agent runs the plugin's own entry (src/cni runPlugin) on the forwarded env and stdin, so
 * what the runtime sees (the JSON document, the exit code) is exactly what an in-process plugin
 * printed. The client is compiled (thin/main.go); the constants here are its own too, set at
 * build time by scripts/build.ts, so the two sides share one definition.
 */

/** Spec versions nnet speaks, oldest first (src/cni/spec.ts re-exports them). */
export const SUPPORTED_VERSIONS = ['0.4.0', '1.0.0', '1.1.0'] as const;
export const LATEST_VERSION: (typeof SUPPORTED_VERSIONS)[number] = '1.1.0';

/** Where the agent listens unless the config's `agentSocket` says otherwise. */
export const DEFAULT_AGENT_SOCKET = '/run/nnet/cni.sock';

export const PROTOCOL_VERSION = 1;

/** More than any sane config with a prevResult; beyond it stdin is refused (CNI code 5). */
export const MAX_STDIN_BYTES = 8 * 1024 * 1024;

/** A request line: the stdin as base64 (4/3 of it) plus the environment. */
export const MAX_REQUEST_BYTES = Math.ceil(MAX_STDIN_BYTES / 3) * 4 + 64 * 1024;

/** An answer line: the plugin's one JSON document (a result, an error) fits easily. */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/** CNI codes the client and the server answer with themselves (spec "Error" section). */
export const CODES = { invalidEnv: 4, io: 5, decode: 6, tryAgainLater: 11, notAvailable: 50 } as const;

/** What the client sends (thin/main.go builds the same). */
export interface AgentRequest {
  v: typeof PROTOCOL_VERSION;
  /** The CNI_* variables of the plugin's environment (nothing else is forwarded). */
  env: Record<string, string>;
  /** The plugin's stdin, base64. */
  stdin: string;
}

export interface AgentAnswer {
  v: typeof PROTOCOL_VERSION;
  /** The plugin's exit code. */
  code: number;
  /** Exactly what the plugin prints on stdout (empty for a successful DEL). */
  stdout: string;
}

/** One line of JSON (JSON.stringify escapes every newline inside strings). */
export function encodeLine(doc: AgentRequest | AgentAnswer): string {
  return `${JSON.stringify(doc)}\n`;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** A request line → the request, or why it is not one (the server answers that, code 6). */
export function parseRequest(line: string): AgentRequest | { problem: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return { problem: 'it is not JSON' };
  }
  if (!isObject(doc)) return { problem: 'it is not a JSON object' };
  if (doc.v !== PROTOCOL_VERSION)
    return { problem: `it speaks protocol version ${String(doc.v).slice(0, 16)}, not ${PROTOCOL_VERSION}` };
  if (!isObject(doc.env) || !Object.values(doc.env).every((x) => typeof x === 'string'))
    return { problem: '"env" is not an object of strings' };
  if (!Object.keys(doc.env).every((k) => k.startsWith('CNI_')))
    return { problem: '"env" holds a variable that is not CNI_*' };
  if (typeof doc.stdin !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(doc.stdin))
    return { problem: '"stdin" is not base64' };
  return { v: PROTOCOL_VERSION, env: doc.env as Record<string, string>, stdin: doc.stdin };
}

/** The CNI error document, as src/cni/errors.ts writes it. */
export function errorDocument(cniVersion: string, code: number, msg: string): string {
  return `${JSON.stringify({ cniVersion, code, msg })}\n`;
}
