/**
 * The CNI_* environment → a typed invocation. Which variables are required depends on the
 * command (spec 1.1.0 section 2): ADD and CHECK need CNI_CONTAINERID, CNI_NETNS and CNI_IFNAME;
 * DEL needs CNI_CONTAINERID and CNI_IFNAME (CNI_NETNS may be gone); STATUS, GC and VERSION need
 * only CNI_COMMAND. Every problem is an InputError('invalid-env') (CNI code 4) whose message names
 * each bad variable.
 *
 *   parseEnv({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' })
 *   // → { command: 'DEL', containerId: 'c1', ifname: 'eth0', netns: undefined, args: {…}, cniPath: [] }
 */
import { InputError } from '../errors/index.ts';
import {
  CNI_COMMANDS,
  type CniCommand,
  ifnameProblem,
  isValidContainerId,
  MAX_CONTAINER_ID,
} from './spec.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** CNI_ARGS, as Kubernetes runtimes (containerd, CRI-O) fill them. */
export interface CniArgs {
  podNamespace?: string;
  podName?: string;
  podUid?: string;
  podInfraContainerId?: string;
  /** IgnoreUnknown=1/true: unknown keys were dropped instead of rejected. */
  ignoreUnknown: boolean;
  /** Names of the keys dropped under IgnoreUnknown (values are never kept). */
  ignoredKeys: string[];
}

/** The attachment a per-container command (ADD, DEL, CHECK) acts on. */
interface AttachmentEnv {
  containerId: string;
  ifname: string;
  args: CniArgs;
  /** CNI_PATH split on ':' (empty entries dropped). N-Net delegates to no plugin; kept for logs. */
  cniPath: string[];
}
export type CniInvocation =
  | ({ command: 'ADD' | 'CHECK'; netns: string } & AttachmentEnv)
  | ({ command: 'DEL'; netns: string | undefined } & AttachmentEnv)
  | { command: 'STATUS' | 'GC'; args: CniArgs; cniPath: string[] }
  | { command: 'VERSION' };

const MAX_SHOWN = 64;
const CONTAINER_ID_RULE = `must start with a letter or digit, hold only letters, digits, "_", "." and "-", and be at most ${MAX_CONTAINER_ID} characters long`;
/** A value for a message: JSON-quoted and cut short (these values are ids and names, not secrets). */
export function shown(value: string): string {
  return JSON.stringify(value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value);
}

function isCommand(s: string): s is CniCommand {
  return (CNI_COMMANDS as readonly string[]).includes(s);
}

/** CNI_COMMAND alone; the first thing read, so that VERSION needs nothing else. */
export function parseCommand(env: Env): CniCommand {
  const cmd = env.CNI_COMMAND;
  if (cmd === undefined || cmd === '')
    throw new InputError('invalid-env', 'invalid CNI environment: CNI_COMMAND is missing');
  if (!isCommand(cmd))
    throw new InputError(
      'invalid-env',
      `invalid CNI environment: CNI_COMMAND ${shown(cmd)} is not one of ${CNI_COMMANDS.join(', ')}`,
    );
  return cmd;
}

const REQUIRED: Record<CniCommand, readonly string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  STATUS: [],
  GC: [],
  VERSION: [],
};

/** Parses and validates everything the command needs; throws one error listing every problem. */
export function parseEnv(env: Env): CniInvocation {
  const command = parseCommand(env);
  if (command === 'VERSION') return { command };

  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  for (const name of REQUIRED[command]) if (get(name) === undefined) problems.push(`${name} is missing`);

  const containerId = get('CNI_CONTAINERID');
  if (containerId !== undefined && !isValidContainerId(containerId))
    problems.push(`CNI_CONTAINERID ${shown(containerId)} ${CONTAINER_ID_RULE}`);
  const ifname = get('CNI_IFNAME');
  const ifProblem = ifname === undefined ? undefined : ifnameProblem(ifname);
  if (ifname !== undefined && ifProblem) problems.push(`CNI_IFNAME ${shown(ifname)} ${ifProblem}`);
  const netns = get('CNI_NETNS');
  if (netns !== undefined && (!netns.startsWith('/') || netns.includes('\0')))
    problems.push(`CNI_NETNS ${shown(netns)} must be an absolute path`);

  let args: CniArgs = { ignoreUnknown: false, ignoredKeys: [] };
  try {
    args = parseCniArgs(env.CNI_ARGS ?? '');
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    problems.push(e.message.replace(/^invalid CNI environment: /, ''));
  }
  const cniPath = (env.CNI_PATH ?? '').split(':').filter((p) => p !== '');

  if (problems.length > 0)
    throw new InputError('invalid-env', `invalid CNI environment: ${problems.join('; ')}`);
  if (command === 'STATUS' || command === 'GC') return { command, args, cniPath };
  // The REQUIRED check above guarantees these for ADD, CHECK and DEL.
  const base = { containerId: containerId!, ifname: ifname!, args, cniPath };
  if (command === 'DEL') return { command, netns, ...base };
  return { command, netns: netns!, ...base };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// Pod UIDs are UUIDs for API pods and config hashes for static pods.
const POD_UID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

type KnownKey = Exclude<keyof CniArgs, 'ignoreUnknown' | 'ignoredKeys'>;
const KNOWN: Record<string, { field: KnownKey; valid: (v: string) => boolean; rule: string }> = {
  K8S_POD_NAMESPACE: {
    field: 'podNamespace',
    valid: (v) => v.length <= 63 && DNS_LABEL.test(v),
    rule: 'must be a DNS-1123 label (lower-case letters, digits and "-", at most 63 characters)',
  },
  K8S_POD_NAME: {
    field: 'podName',
    valid: (v) => v.length <= 253 && DNS_SUBDOMAIN.test(v),
    rule: 'must be a DNS-1123 subdomain (lower-case letters, digits, "-" and ".", at most 253 characters)',
  },
  K8S_POD_UID: {
    field: 'podUid',
    valid: (v) => POD_UID.test(v),
    rule: 'must be a UID (letters, digits, "_", "." and "-", at most 128 characters)',
  },
  K8S_POD_INFRA_CONTAINER_ID: {
    field: 'podInfraContainerId',
    valid: isValidContainerId,
    rule: `must be a container id (letters, digits, "_", "." and "-", at most ${MAX_CONTAINER_ID} characters)`,
  },
};

function parseBool(v: string): boolean | undefined {
  const l = v.toLowerCase();
  if (l === '1' || l === 'true') return true;
  if (l === '0' || l === 'false') return false;
  return undefined;
}

/**
 * CNI_ARGS ("K=V;K=V") → CniArgs. Unknown keys are an error unless IgnoreUnknown is 1/true (as in
 * the reference plugins); empty values count as absent; empty segments (a trailing ";") are skipped.
 */
export function parseCniArgs(raw: string): CniArgs {
  const out: CniArgs = { ignoreUnknown: false, ignoredKeys: [] };
  const problems: string[] = [];
  const seen = new Set<string>();
  const pairs: [string, string][] = [];
  for (const segment of raw.split(';')) {
    if (segment === '') continue;
    const eq = segment.indexOf('=');
    if (eq <= 0 || segment.indexOf('=', eq + 1) !== -1) {
      problems.push(`${shown(segment)} is not a KEY=VALUE pair`);
      continue;
    }
    const key = segment.slice(0, eq);
    if (seen.has(key)) {
      problems.push(`key ${shown(key)} is given more than once`);
      continue;
    }
    seen.add(key);
    pairs.push([key, segment.slice(eq + 1)]);
  }
  for (const [key, value] of pairs) {
    if (key !== 'IgnoreUnknown') continue;
    const b = parseBool(value);
    if (b === undefined) problems.push(`IgnoreUnknown must be 1, true, 0 or false`);
    else out.ignoreUnknown = b;
  }
  for (const [key, value] of pairs) {
    if (key === 'IgnoreUnknown') continue;
    const known = KNOWN[key];
    if (!known) {
      if (out.ignoreUnknown) out.ignoredKeys.push(key.slice(0, MAX_SHOWN));
      else problems.push(`unknown key ${shown(key)} (set IgnoreUnknown=1 to ignore unknown keys)`);
      continue;
    }
    if (value === '') continue;
    if (!known.valid(value)) problems.push(`${key} ${shown(value)} ${known.rule}`);
    else out[known.field] = value;
  }
  if (problems.length > 0)
    throw new InputError('invalid-env', `invalid CNI environment: CNI_ARGS: ${problems.join('; ')}`);
  return out;
}
