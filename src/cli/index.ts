/**
 * kubenetctl: the paper's interaction module. The command-line submodule (`main`: kubectl
 * passthrough plus N-Net's network commands) and the parsing submodule (`parseCommandLine`,
 * pure). Kept light: formatters, manifest reading (they load `yaml`) and handlers are loaded
 * only by the commands that need them.
 */

export type { CliIo, CommandContext, Handler } from './context.ts';
export { processIo } from './context.ts';
export { type CliFailure, toCliFailure } from './exit.ts';
export { type ExitStatus, resolveKubectl, runKubectl, signalExitCode } from './kubectl.ts';
export { main } from './main.ts';
export { parseCommandLine } from './parse.ts';
export type { NetworkBackend, Reservation } from './reservations.ts';
export type {
  AllocationPool,
  ClusterCredentialSource,
  ManifestSource,
  NetworkCommand,
  NetworkCommandKind,
  Noun,
  OutputFormat,
  ParsedCommandLine,
  PodNetworkRequest,
  Scope,
} from './types.ts';
