/**
 * The network config on stdin → a typed NetConf. Decoding failures are InputError('decode')
 * (CNI code 6); a cniVersion we do not speak is 'unsupported-version' (code 1); every other
 * problem is 'invalid-config' (code 7) with a message naming the field:
 *   invalid network config: field "plugDriver" must be one of internal, hybrid, vlan (got "veth")
 * Unknown top-level keys are ignored (conflists and runtimes add their own; libcni injects `name`
 * and `cniVersion` from the list). This module loads zod; main.ts imports it only after VERSION.
 *
 *   const conf = parseNetConf(decodeConfig(stdin), { command: 'ADD' });
 *   conf.plugDriver; // 'internal'
 */
import { fstatSync, type Stats, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { posix } from 'node:path';
import * as z from 'zod/mini';
import { DEFAULT_AGENT_SOCKET } from '../cniproto/index.ts';
import { InputError } from '../errors/index.ts';
import type { LogLevel } from '../log/index.ts';
import { parseOvsdbTarget } from '../plug/ovsdb-target.ts';
import { isUuid, parseCidr, parseIfaceAddress, parseIp, parseMac } from '../resources/index.ts';
import { parseStoreUrl } from '../store/index.ts';
import { resultProblems } from './result.ts';
import {
  type Attachment,
  type CniCommand,
  type CniDns,
  type CniResult,
  type CniVersion,
  ifnameProblem,
  isSupportedVersion,
  isValidNetworkName,
} from './spec.ts';
import { negotiateVersion } from './version.ts';

// ---- Types the verbs consume.

/** Where N-Net's store lives (`store` in the config). */
export type StoreLocation =
  | { kind: 'sqlite' /** Absolute path of the database file. */; path: string; url: string }
  | { kind: 'etcd' /** http(s)://host:port, one per member. */; endpoints: string[]; url: string };

/** Where the cluster's OpenStack credentials are read from, when not from the store. */
export type CredentialsSource =
  | { kind: 'clouds-yaml'; file: string; cloud: string }
  | { kind: 'openrc'; file: string };

/** A static address asked for through the `ips` capability; prefixLength only when given. */
export interface RequestedIp {
  ip: string;
  version: 4 | 6;
  prefixLength?: number;
}

export interface Timeouts {
  /** Per Keystone request. */
  keystoneMs: number;
  /**
   * Per Neutron request; unset (the default): none, the command's deadline (totalMs) bounds every
   * request, so requests queued at a busy Neutron are not failed while the command has time left.
   */
  neutronMs?: number | undefined;
  /** Per store operation (SQLite busy timeout, etcd request). */
  storeMs: number;
  /** Per OVSDB transaction. */
  ovsdbMs: number;
  /** The whole command; past it the plugin answers code 11 and the verb's signal is aborted. */
  totalMs: number;
}

export interface NetConf {
  cniVersion: CniVersion;
  /** Network name (the conflist's name). */
  name: string;
  type: 'nnet';
  store: StoreLocation;
  /** Cluster name registered in the store. */
  cluster: string;
  credentials: CredentialsSource | undefined;
  /** binding:host_id; must equal the OVN chassis hostname. Default: os.hostname(). */
  nodeName: string;
  /** Default Neutron network / subnet (id or name) for pods without their own. */
  network: string | undefined;
  subnet: string | undefined;
  plugDriver: 'internal' | 'hybrid' | 'vlan';
  /** Nested mode (`plugDriver: vlan`): the node is a VM; pods ride its trunk (src/plug/vlan.ts). */
  nested: NestedConf | undefined;
  bridge: string;
  datapathType: 'system' | 'netdev';
  /** OVSDB remote: `unix:/path` or `tcp:host:port`. */
  ovsdbSocket: string;
  /** Netns where ovs-vswitchd runs: a name under /run/netns or an absolute path; undefined = ours. */
  ovsNetns: string | undefined;
  /** MTU override; undefined = the Neutron network's MTU. */
  mtu: number | undefined;
  /**
   * Overrides the cluster's Service CIDRs (kept in the store; default 10.96.0.0/12): `serviceCidr`,
   * comma-separated like kube-apiserver's --service-cluster-ip-range, at most one per family.
   */
  serviceCidrs: string[] | undefined;
  logFile: string;
  logLevel: LogLevel;
  /** nnet-agent's CNI socket, where the thin plugin sends every command but VERSION. */
  agentSocket: string;
  /** Directory for cached Keystone tokens (0700; files 0600). */
  tokenCacheDir: string;
  timeouts: Timeouts;
  /** The well-known `dns` key, when the config sets one. */
  dns: CniDns | undefined;
  /** Capabilities the runtime filled in. */
  runtimeConfig: { ips: RequestedIp[]; mac: string | undefined };
  /** Canonical (1.1.0-shaped) previous result: set on CHECK, usually on DEL, in chains on ADD. */
  prevResult: CniResult | undefined;
  /** GC only: attachments the runtime still considers valid. */
  validAttachments: Attachment[] | undefined;
}

export interface NestedConf {
  /** The node's trunk parent port; unset: the Neutron port with the NIC's MAC. */
  parentPort: string | undefined;
  nic: string;
  vlanDevice: 'kernel' | 'ovs';
  /** Where the NIC is: a netns name under /run/netns or an absolute path; undefined = ours. */
  nicNetns: string | undefined;
}

export const DEFAULTS = {
  store: 'sqlite:/var/lib/nnet/nnet.db',
  plugDriver: 'internal',
  bridge: 'br-int',
  datapathType: 'system',
  ovsdbSocket: 'unix:/var/run/openvswitch/db.sock',
  logFile: '/var/log/nnet/nnet.log',
  logLevel: 'info',
  tokenCacheDir: '/var/lib/nnet/tokens',
  timeouts: { keystoneMs: 10_000, storeMs: 5_000, ovsdbMs: 5_000, totalMs: 100_000 },
} as const;

// ---- Decoding.

/** Raw stdin → a JSON object. Never echoes the input (it may hold anything). */
export function decodeConfig(input: string | Uint8Array): Record<string, unknown> {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw new InputError('decode', 'network config on stdin is not valid UTF-8');
    }
  }
  if (text.trim() === '') throw new InputError('decode', 'network config on stdin is empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const at = /position (\d+)/.exec(e instanceof Error ? e.message : '');
    throw new InputError('decode', 'network config on stdin is not valid JSON', {
      details: at ? `parse error at byte offset ${at[1]}` : undefined,
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InputError('decode', 'network config on stdin is not a JSON object');
  return value as Record<string, unknown>;
}

/** The config's cniVersion when we speak it (for the error JSON's cniVersion), else undefined. */
export function peekVersion(config: Record<string, unknown>): CniVersion | undefined {
  return isSupportedVersion(config.cniVersion) ? config.cniVersion : undefined;
}

// ---- Schema (zod/mini: a fraction of classic zod's size, which matters for start-up).

const isAbsPath = (s: string) => s.startsWith('/') && !s.includes('\0');
const NO_SPACE = /^[^\s\0]+$/u;

type Ctx = { issues: z.core.$ZodRawIssue[] };
function invalid(ctx: Ctx, input: unknown, message: string): never {
  ctx.issues.push({ code: 'custom', message, input });
  return z.NEVER;
}
/** A string parsed into T by `parse`, which returns a message instead when the string is wrong. */
function parsedString<T>(parse: (s: string) => T | { problem: string }) {
  return z.pipe(
    z.string(),
    z.transform((s: string, ctx: Ctx): T => {
      const out = parse(s);
      return typeof out === 'object' && out !== null && 'problem' in out
        ? invalid(ctx, s, out.problem)
        : (out as T);
    }),
  );
}
const checked = (ok: (s: string) => boolean, problem: string) =>
  z.string().check(z.refine(ok, { error: problem }));

const absPath = checked(isAbsPath, 'must be an absolute path');
const word = (max: number) =>
  z.string().check(
    z.minLength(1),
    z.maxLength(max),
    z.refine((s) => NO_SPACE.test(s), { error: 'must not contain whitespace' }),
  );
const ms = z.int().check(z.minimum(1), z.maximum(3_600_000));

function parseStore(s: string): StoreLocation | { problem: string } {
  let where: ReturnType<typeof parseStoreUrl>;
  try {
    where = parseStoreUrl(s);
  } catch (e) {
    // What is wrong, without echoing any part of the value (quoted parts are left out).
    const why = (e instanceof Error ? e.message : '')
      .replace(/^invalid store URL "[^"]*": /, '')
      .replace(/"[^"]*"/g, '…');
    const usage = s.startsWith('etcd:')
      ? 'etcd:http(s)://host:port[,…][?prefix=/p&cacert=…&cert=…&key=…&user=…&password-file=…]'
      : s.startsWith('sqlite:')
        ? 'sqlite:/absolute/path'
        : 'sqlite:/absolute/path or etcd:http(s)://host:port[,…]';
    return { problem: `must be ${usage}${why ? ` (${why})` : ''}` };
  }
  return where.backend === 'sqlite'
    ? { kind: 'sqlite', path: where.path, url: s }
    : { kind: 'etcd', endpoints: where.endpoints, url: s };
}

function parseServiceCidrs(s: string): string[] | { problem: string } {
  const out: string[] = [];
  for (const part of s.split(',').map((p) => p.trim())) {
    const c = parseCidr(part);
    if (!c.ok)
      return {
        problem: `must be CIDRs like "10.96.0.0/12" or "10.96.0.0/12,fd00:10:96::/112" (${part}: ${c.reason})`,
      };
    if (out.some((o) => o.includes(':') === c.value.cidr.includes(':')))
      return { problem: 'must hold at most one CIDR per IP family' };
    out.push(c.value.cidr);
  }
  return out;
}

function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a pipe';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Whether `st` is the file this process's stdout (1) or stderr (2) writes to. */
function ownStream(st: Stats): string | undefined {
  for (const [fd, name] of [
    [1, 'stdout'],
    [2, 'stderr'],
  ] as const) {
    try {
      const o = fstatSync(fd);
      if (o.dev === st.dev && o.ino === st.ino) return name;
    } catch {
      // That stream is closed: nothing to compare with.
    }
  }
  return undefined;
}

/**
 * Why a path cannot be the plugin's log file. The runtime reads the CNI result from the plugin's
 * stdout: a log file that is (or leads to) stdout or stderr, a device or a pipe would mix log lines
 * into it (`/dev/stdout`, `/dev/fd/1`, `/proc/self/fd/1`, a symlink to one of them). Paths under
 * /dev (bar /dev/null, which discards the log), /proc and /sys are refused as written; an existing
 * file must be a regular file that is not this process's stdout or stderr.
 */
export function logFileProblem(file: string): string | undefined {
  if (!isAbsPath(file)) return 'must be an absolute path';
  const path = posix.normalize(file);
  if (path === '/dev/null') return undefined;
  if (/^\/(dev|proc|sys)(\/|$)/.test(path))
    return 'must be a regular file outside /dev, /proc and /sys (log lines written to a device or to the plugin\'s own stdout would corrupt the CNI result); "/dev/null" discards the log';
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return undefined; // not there yet: the logger creates a regular file
  }
  if (!st.isFile()) return `must be a regular file, and it is ${fileKind(st)}`;
  const stream = ownStream(st);
  if (stream) return `must not be the plugin's own ${stream} (log lines would corrupt the CNI result)`;
  return undefined;
}

const logFileSchema = parsedString((s) => {
  const problem = logFileProblem(s);
  return problem ? { problem } : s;
});

/** The plug layer's own rule (src/plug/ovsdb-target.ts): `unix:/path` or `tcp:HOST:PORT`; `ssl:` is refused. */
function parseOvsdb(s: string): string | { problem: string } {
  const t = parseOvsdbTarget(s);
  if ('problem' in t) return t;
  return t.kind === 'unix' ? `unix:${t.path}` : s;
}

function parseRequestedIp(s: string): RequestedIp | { problem: string } {
  const problem = 'must be an IP address, optionally with a prefix ("1.2.0.100" or "1.2.0.100/16")';
  if (s.includes('/')) {
    const a = parseIfaceAddress(s);
    return a.ok
      ? { ip: a.value.ip.text, version: a.value.ip.family, prefixLength: a.value.prefix }
      : { problem };
  }
  const a = parseIp(s);
  return a.ok ? { ip: a.value.text, version: a.value.family } : { problem };
}

function parseUnicastMac(s: string): string | { problem: string } {
  const mac = parseMac(s);
  if (mac.ok) return mac.value;
  return {
    problem: mac.reason.startsWith('not')
      ? 'must be a MAC address like "c2:11:22:33:44:55"'
      : `must be a unicast MAC address (${mac.reason})`,
  };
}

const ifnameSchema = z.string().check(
  z.superRefine((s: string, ctx) => {
    const p = ifnameProblem(s);
    if (p) ctx.addIssue({ code: 'custom', message: `${p} (must be a Linux interface name)`, input: s });
  }),
);

const netnsSchema = checked(
  (s) => (s.startsWith('/') ? isAbsPath(s) : /^[A-Za-z0-9_.-]{1,255}$/.test(s) && s !== '.' && s !== '..'),
  'must be a netns name or an absolute path',
);

const dnsShape = {
  nameservers: z.optional(z.array(z.string())),
  domain: z.optional(z.string()),
  search: z.optional(z.array(z.string())),
  options: z.optional(z.array(z.string())),
};

function strip<T extends object>(o: T, keys: readonly (keyof T)[]): T {
  const out = {} as T;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

const optUint = z.optional(z.int().check(z.minimum(0), z.maximum(0xffffffff)));
const prevResultSchema = z.pipe(
  z.looseObject({
    interfaces: z.optional(
      z.array(
        z.looseObject({
          name: z.string(),
          mac: z.optional(z.string()),
          mtu: z.optional(z.int()),
          sandbox: z.optional(z.string()),
          socketPath: z.optional(z.string()),
          pciID: z.optional(z.string()),
        }),
      ),
    ),
    ips: z.optional(
      z.array(
        z.looseObject({
          address: z.string(),
          gateway: z.optional(z.string()),
          interface: z.optional(z.int().check(z.minimum(0))),
        }),
      ),
    ),
    routes: z.optional(
      z.array(
        z.looseObject({
          dst: z.string(),
          gw: z.optional(z.string()),
          mtu: optUint,
          advmss: optUint,
          priority: optUint,
          table: optUint,
          scope: optUint,
        }),
      ),
    ),
    dns: z.optional(z.looseObject(dnsShape)),
  }),
  z.transform((r, ctx: Ctx): CniResult => {
    const result: CniResult = {
      interfaces: (r.interfaces ?? []).map((i) => {
        const out = strip(i, ['name', 'mac', 'mtu', 'sandbox', 'socketPath', 'pciID']);
        if (out.mac !== undefined) out.mac = out.mac.toLowerCase();
        return out;
      }),
      ips: (r.ips ?? []).map((i) => strip(i, ['address', 'gateway', 'interface'])),
      routes: (r.routes ?? []).map((rt) =>
        strip(rt, ['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope']),
      ),
      dns: strip(r.dns ?? {}, ['nameservers', 'domain', 'search', 'options']),
    };
    const problems = resultProblems(result);
    if (problems.length > 0) return invalid(ctx, r, `is not a valid CNI result: ${problems.join('; ')}`);
    return result;
  }),
);

const attachmentsSchema = z.pipe(
  z.array(
    z.looseObject({
      containerID: z.string().check(z.minLength(1)),
      ifname: z.string().check(z.minLength(1)),
    }),
  ),
  z.transform((list): Attachment[] => list.map((a) => ({ containerId: a.containerID, ifname: a.ifname }))),
);

function schemaFor(nodeName: string) {
  const t = DEFAULTS.timeouts;
  return z.looseObject({
    name: checked(
      isValidNetworkName,
      'must start with a letter or digit and hold only letters, digits, "_", "." and "-"',
    ),
    type: z.literal('nnet'),
    store: z.prefault(parsedString(parseStore), DEFAULTS.store),
    cluster: word(253),
    credentials: z.optional(
      z.union(
        [z.strictObject({ cloudsYaml: absPath, cloud: word(255) }), z.strictObject({ openrc: absPath })],
        {
          error: 'must be {"cloudsYaml": "/path", "cloud": "name"} or {"openrc": "/path"}',
        },
      ),
    ),
    nodeName: z._default(word(253), nodeName),
    network: z.optional(word(255)),
    subnet: z.optional(word(255)),
    plugDriver: z._default(z.enum(['internal', 'hybrid', 'vlan']), DEFAULTS.plugDriver),
    nested: z.optional(
      z.strictObject({
        parentPort: z.optional(checked(isUuid, 'must be a Neutron port id (a UUID)')),
        nic: z._default(ifnameSchema, 'eth0'),
        vlanDevice: z._default(z.enum(['kernel', 'ovs']), 'kernel'),
        nicNetns: z.optional(netnsSchema),
      }),
    ),
    bridge: z._default(ifnameSchema, DEFAULTS.bridge),
    datapathType: z._default(z.enum(['system', 'netdev']), DEFAULTS.datapathType),
    ovsdbSocket: z.prefault(parsedString(parseOvsdb), DEFAULTS.ovsdbSocket),
    ovsNetns: z.optional(netnsSchema),
    mtu: z.optional(z.int().check(z.minimum(68), z.maximum(65535))),
    serviceCidr: z.optional(parsedString(parseServiceCidrs)),
    logFile: z._default(logFileSchema, DEFAULTS.logFile),
    logLevel: z._default(z.enum(['debug', 'info', 'warn', 'error']), DEFAULTS.logLevel),
    agentSocket: z._default(absPath, DEFAULT_AGENT_SOCKET),
    tokenCacheDir: z._default(absPath, DEFAULTS.tokenCacheDir),
    timeouts: z._default(
      z.strictObject({
        keystoneMs: z._default(ms, t.keystoneMs),
        neutronMs: z.optional(ms),
        storeMs: z._default(ms, t.storeMs),
        ovsdbMs: z._default(ms, t.ovsdbMs),
        totalMs: z._default(ms, t.totalMs),
      }),
      { ...t },
    ),
    dns: z.optional(z.strictObject(dnsShape)),
    runtimeConfig: z._default(
      z.looseObject({
        ips: z._default(
          z.array(parsedString(parseRequestedIp)).check(
            z.maxLength(16),
            z.refine((ips) => new Set(ips.map((i) => i.ip)).size === ips.length, {
              error: 'lists an address twice',
            }),
          ),
          [],
        ),
        mac: z.optional(parsedString(parseUnicastMac)),
      }),
      { ips: [] },
    ),
    prevResult: z.optional(prevResultSchema),
    'cni.dev/valid-attachments': z.optional(attachmentsSchema),
    'cni.dev/attachments': z.optional(attachmentsSchema),
  });
}

// ---- Messages.

function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

const KIND: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
};

// Fields whose value may be echoed back: enumerations, where seeing the wrong word helps.
const ECHO = new Set(['type', 'plugDriver', 'datapathType', 'logLevel']);

function describeIssue(issue: z.core.$ZodIssue, root: unknown): string {
  const field = fieldName(issue.path);
  const value = valueAt(root, issue.path);
  const head = field === '' ? 'the config' : `field "${field}"`;
  if (value === undefined && issue.code !== 'custom') return `${head} is required`;
  switch (issue.code) {
    case 'invalid_type':
      return `${head} must be ${KIND[issue.expected] ?? issue.expected}`;
    case 'invalid_value': {
      const allowed = issue.values.map(String);
      const got =
        ECHO.has(field) && typeof value === 'string' ? ` (got ${JSON.stringify(value.slice(0, 32))})` : '';
      return allowed.length === 1
        ? `${head} must be "${allowed[0]}"${got}`
        : `${head} must be one of ${allowed.join(', ')}${got}`;
    }
    case 'too_small':
      if (issue.origin === 'string') return `${head} must not be empty`;
      return `${head} must be at least ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'string') return `${head} must be at most ${String(issue.maximum)} characters`;
      if (issue.origin === 'array') return `${head} must have at most ${String(issue.maximum)} entries`;
      return `${head} must be at most ${String(issue.maximum)}`;
    case 'unrecognized_keys':
      return `${head} has unknown keys ${issue.keys.map((k) => JSON.stringify(k.slice(0, 32))).join(', ')}`;
    default:
      return `${head} ${issue.message}`;
  }
}

export interface ParseOptions {
  command: CniCommand;
  /** Default nodeName; os.hostname() when not given. */
  hostname?: string;
}

/** A decoded config → NetConf, or an InputError whose message names the first bad field. */
export function parseNetConf(raw: Record<string, unknown>, options: ParseOptions): NetConf {
  const cniVersion = negotiateVersion(raw.cniVersion, options.command);
  const parsed = schemaFor(options.hostname ?? hostname()).safeParse(raw);
  if (!parsed.success) {
    const all = parsed.error.issues.map((i) => describeIssue(i, raw));
    throw new InputError('invalid-config', `invalid network config: ${all[0]}`, {
      details: all.length > 1 ? all.join('; ') : undefined,
    });
  }
  const c = parsed.data;
  const validAttachments = c['cni.dev/valid-attachments'] ?? c['cni.dev/attachments'];
  const missing = (field: string) =>
    new InputError(
      'invalid-config',
      `invalid network config: field "${field}" is required for ${options.command}`,
    );
  if (options.command === 'CHECK' && !c.prevResult) throw missing('prevResult');
  if (options.command === 'GC' && !validAttachments) throw missing('cni.dev/valid-attachments');
  return {
    cniVersion,
    name: c.name,
    type: c.type,
    store: c.store,
    cluster: c.cluster,
    credentials: c.credentials
      ? 'openrc' in c.credentials
        ? { kind: 'openrc', file: c.credentials.openrc }
        : { kind: 'clouds-yaml', file: c.credentials.cloudsYaml, cloud: c.credentials.cloud }
      : undefined,
    nodeName: c.nodeName,
    network: c.network,
    subnet: c.subnet,
    plugDriver: c.plugDriver,
    nested:
      c.plugDriver === 'vlan'
        ? {
            parentPort: c.nested?.parentPort,
            nic: c.nested?.nic ?? 'eth0',
            vlanDevice: c.nested?.vlanDevice ?? 'kernel',
            nicNetns: c.nested?.nicNetns,
          }
        : undefined,
    bridge: c.bridge,
    datapathType: c.datapathType,
    ovsdbSocket: c.ovsdbSocket,
    ovsNetns: c.ovsNetns,
    mtu: c.mtu,
    serviceCidrs: c.serviceCidr,
    logFile: c.logFile,
    logLevel: c.logLevel,
    agentSocket: c.agentSocket,
    tokenCacheDir: c.tokenCacheDir,
    timeouts: c.timeouts,
    dns: c.dns,
    runtimeConfig: { ips: c.runtimeConfig.ips, mac: c.runtimeConfig.mac },
    prevResult: c.prevResult,
    validAttachments: options.command === 'GC' ? validAttachments : undefined,
  };
}
