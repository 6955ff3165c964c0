/**
 * The `nnet` CNI plugin's public surface: the entry (runPlugin), the Verbs contract the verbs
 * implement, the spec's types, result building, and the one error → CNI code mapping.
 *
 * Config parsing (./config.ts) is exported as types only: it loads zod, and runPlugin imports it
 * lazily so that VERSION stays cheap. Its functions are reachable with `await import('./config.ts')`
 * from inside this folder.
 */
export type {
  CredentialsSource,
  NetConf,
  RequestedIp,
  StoreLocation,
  Timeouts,
} from './config.ts';
export { type CniArgs, type CniInvocation, type Env, parseCniArgs, parseCommand, parseEnv } from './env.ts';
export { type CniFailure, errorJson, NnetCode, redactSecrets, safeText, toCniError } from './errors.ts';
export {
  type AddRequest,
  type CheckRequest,
  type DelRequest,
  type GcRequest,
  type PluginIO,
  runPlugin,
  type StatusProblem,
  type StatusRequest,
  type Verbs,
} from './main.ts';
export {
  type AttachmentData,
  attachmentResult,
  encodeResult,
  mergeWithPrevResult,
  resultProblems,
} from './result.ts';
export {
  type Attachment,
  CNI_COMMANDS,
  CniCode,
  type CniCommand,
  type CniDns,
  type CniErrorJson,
  type CniInterface,
  type CniIpConfig,
  type CniResult,
  type CniRoute,
  type CniVersion,
  type CniVersionJson,
  ifnameProblem,
  isSupportedVersion,
  isValidContainerId,
  isValidNetworkName,
  LATEST_VERSION,
  SUPPORTED_VERSIONS,
} from './spec.ts';
export { negotiateVersion, versionJson } from './version.ts';

/**
 * The plugin's config parser, for the node agent, which reads the same conflist. Loaded on first
 * use, so the plugin's VERSION path never evaluates it.
 */
export async function loadNetConf(
  raw: Record<string, unknown>,
  options: import('./config.ts').ParseOptions,
): Promise<import('./config.ts').NetConf> {
  return (await import('./config.ts')).parseNetConf(raw, options);
}
