/**
 * Version negotiation: what VERSION prints, which cniVersion a config may carry, and which
 * commands each version allows (GC and STATUS arrived in 1.1.0, as libcni's skel enforces).
 *
 *   versionJson()  // → { cniVersion: '1.1.0', supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] }
 */
import { InputError } from '../errors/index.ts';
import { shown } from './env.ts';
import {
  type CniCommand,
  type CniVersion,
  type CniVersionJson,
  isSupportedVersion,
  LATEST_VERSION,
  SUPPORTED_VERSIONS,
} from './spec.ts';

export function versionJson(): CniVersionJson {
  return { cniVersion: LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}

/** The oldest cniVersion that knows each command. */
const INTRODUCED: Record<CniCommand, CniVersion> = {
  ADD: '0.4.0',
  DEL: '0.4.0',
  CHECK: '0.4.0',
  VERSION: '0.4.0',
  STATUS: '1.1.0',
  GC: '1.1.0',
};

/**
 * The config's `cniVersion` (the value as decoded from stdin) → a version we speak that allows
 * `command`. Missing or not a string: InputError('invalid-config') (code 7); a version we do not
 * speak, or one too old for the command: InputError('unsupported-version') (code 1).
 */
export function negotiateVersion(value: unknown, command: CniCommand): CniVersion {
  if (value === undefined)
    throw new InputError('invalid-config', 'invalid network config: field "cniVersion" is required');
  if (typeof value !== 'string')
    throw new InputError('invalid-config', 'invalid network config: field "cniVersion" must be a string');
  if (!isSupportedVersion(value))
    throw new InputError(
      'unsupported-version',
      `incompatible CNI version: config has cniVersion ${shown(value)}; nnet supports ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  const needed = INTRODUCED[command];
  if (SUPPORTED_VERSIONS.indexOf(value) < SUPPORTED_VERSIONS.indexOf(needed))
    throw new InputError(
      'unsupported-version',
      `incompatible CNI version: ${command} needs cniVersion ${needed} or later; config has ${value}`,
    );
  return value;
}
