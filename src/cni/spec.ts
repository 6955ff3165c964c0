/**
 * The CNI specification's vocabulary (spec 1.1.0, with 1.0.0 and 0.4.0 still spoken): versions,
 * commands, well-known error codes, the result and error shapes, and the name rules for container
 * ids, interface names and network names. Types and constants only, plus tiny predicates; nothing
 * here imports a library (the interface name rule comes from src/plug/ifname.ts, which imports
 * nothing either), so the VERSION path stays cheap.
 */

import { LATEST_VERSION as LATEST, SUPPORTED_VERSIONS as SUPPORTED } from '../cniproto/index.ts';

/**
 * Spec versions this plugin speaks, oldest first (VERSION prints them in this order). Defined in
 * src/cniproto, whose thin plugin answers VERSION without loading this folder.
 */
export const SUPPORTED_VERSIONS = SUPPORTED;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
/** The newest version we speak: used for VERSION output and for errors before a config is read. */
export const LATEST_VERSION: CniVersion = LATEST;

export function isSupportedVersion(v: unknown): v is CniVersion {
  return typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

/** Well-known error codes (spec "Error" section). 0–99 are reserved to the spec. */
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnv: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  /** STATUS: the plugin cannot service ADD requests. */
  PluginNotAvailable: 50,
  /** STATUS: not available, and existing containers may have limited connectivity. */
  LimitedConnectivity: 51,
} as const;

// ---- Result (spec section 5). The canonical in-memory form is the 1.1.0 shape; result.ts
// ---- encodes it for the config's cniVersion.

export interface CniInterface {
  name: string;
  /** Hardware address, lower-case colon-separated. */
  mac?: string;
  /** 1.1.0 only. */
  mtu?: number;
  /** Netns path for interfaces inside the container; absent for host interfaces. */
  sandbox?: string;
  /** 1.1.0 only. */
  socketPath?: string;
  /** 1.1.0 only. */
  pciID?: string;
}

export interface CniIpConfig {
  /** Address with prefix, CIDR notation: "1.2.0.100/16". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  /** The following are 1.1.0 only. */
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A plugin result in its canonical (1.1.0) form, without the version stamp. */
export interface CniResult {
  interfaces: CniInterface[];
  ips: CniIpConfig[];
  routes: CniRoute[];
  dns: CniDns;
}

/** What goes on stdout on failure. */
export interface CniErrorJson {
  cniVersion: CniVersion;
  code: number;
  msg: string;
  details?: string;
}

/** What VERSION prints. */
export interface CniVersionJson {
  cniVersion: CniVersion;
  supportedVersions: CniVersion[];
}

/** One (container, interface) pair a runtime still considers valid (GC input). */
export interface Attachment {
  containerId: string;
  ifname: string;
}

// ---- Names.

const ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Network names (and the characters of container ids): an alphanumeric, then alphanumerics, `_`, `.` or `-`. */
export function isValidNetworkName(name: string): boolean {
  return ID_RE.test(name);
}

/**
 * The longest container id N-Net takes: what it can record (the store's names are at most 253
 * characters) and hand Neutron as a port's device_id (at most 255). Runtimes use 64 hex digits.
 */
export const MAX_CONTAINER_ID = 253;

/** Container ids: a network name's characters, at most MAX_CONTAINER_ID of them. */
export function isValidContainerId(id: string): boolean {
  return id.length <= MAX_CONTAINER_ID && ID_RE.test(id);
}

/**
 * Why `name` cannot be a pod's interface name: the plug layer's one rule (src/plug/ifname.ts, a
 * module without imports, so that the VERSION path stays cheap), checked here at the edge.
 */
export { ifnameProblem } from '../plug/ifname.ts';
