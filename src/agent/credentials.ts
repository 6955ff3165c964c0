/**
 * The agent's start-up check of the credentials its CNI config references: the file must be
 * readable and hold the named cloud, so a missing Secret (or node file) stops the agent at once
 * with a message naming the file, instead of failing every pass later. With `required`, a config
 * without a `credentials` reference is refused too (the DaemonSet's agent takes its credentials
 * only from the Secret, never from the store).
 *
 *   checkCredentialsReference(conf, '/etc/cni/net.d/10-nnet.conflist', { required: true });
 */
import { existsSync } from 'node:fs';
import type { NetConf } from '../cni/index.ts';
import { InputError } from '../errors/index.ts';
import { loadCredentials } from '../identity/index.ts';

export function checkCredentialsReference(conf: NetConf, file: string, options: { required: boolean }): void {
  const c = conf.credentials;
  if (!c) {
    if (!options.required) return;
    throw new InputError(
      'invalid-config',
      `the CNI config ${file} has no "credentials" reference (e.g. {"cloudsYaml": "/etc/nnet/credentials/clouds.yaml", "cloud": "nnet"}) and --require-credentials is set`,
    );
  }
  if (!existsSync(c.file))
    throw new InputError(
      'invalid-config',
      `the credentials file ${c.file} that the CNI config ${file} references does not exist (on Kubernetes: the Secret is mounted there; is it created and mounted?)`,
    );
  try {
    loadCredentials({ file: c.file, cloud: c.kind === 'clouds-yaml' ? c.cloud : undefined, env: {} });
  } catch (e) {
    throw new InputError(
      'invalid-config',
      `the credentials the CNI config ${file} references are not usable: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}
