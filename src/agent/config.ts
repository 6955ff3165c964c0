/**
 * The agent's node config: the nnet plugin's own config, read from the CNI config file the runtime
 * uses and parsed with the plugin's own parser, so the agent and the plugin agree on the store, the
 * cluster, the node name, OVSDB, the bridge and the datapath.
 *
 *   const conf = await loadNodeConfig('/etc/cni/net.d/10-nnet.conflist');
 */
import { readFile } from 'node:fs/promises';
// The plugin's parser is not on src/cni's index (it loads zod, and the plugin's VERSION path must
// stay light); the agent is a long-running process and uses it directly.
import { loadNetConf, type NetConf } from '../cni/index.ts';
import { InputError, isNnetError } from '../errors/index.ts';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The nnet entry of a CNI config document, shaped as libcni hands it to the plugin: from a
 * conflist, the plugin of type "nnet" with the list's name and cniVersion; or a single config.
 */
export function pluginConfigOf(doc: unknown, file: string): Json {
  if (!isObject(doc)) throw new InputError('invalid-config', `CNI config ${file} is not a JSON object`);
  if (Array.isArray(doc.plugins)) {
    const ours = doc.plugins.filter((p): p is Json => isObject(p) && p.type === 'nnet');
    if (ours.length === 0)
      throw new InputError('invalid-config', `CNI config list ${file} has no plugin of type "nnet"`);
    if (ours.length > 1)
      throw new InputError(
        'invalid-config',
        `CNI config list ${file} has ${ours.length} plugins of type "nnet"`,
      );
    return { ...ours[0], name: doc.name, cniVersion: doc.cniVersion };
  }
  if (doc.type !== 'nnet')
    throw new InputError(
      'invalid-config',
      `CNI config ${file} is neither a config list nor a config of type "nnet"`,
    );
  return doc;
}

/** Parses CNI config text into the plugin's NetConf; errors name the file. */
export async function parseNodeConfig(text: string, file: string, hostname?: string): Promise<NetConf> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new InputError('decode', `CNI config ${file} is not valid JSON`);
  }
  try {
    return await loadNetConf(pluginConfigOf(doc, file), {
      command: 'ADD',
      ...(hostname !== undefined ? { hostname } : {}),
    });
  } catch (e) {
    if (e instanceof InputError && !e.message.includes(file))
      throw new InputError(e.reason, `${file}: ${e.message}`, { cause: e, details: e.details });
    throw e;
  }
}

export async function loadNodeConfig(file: string): Promise<NetConf> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new InputError('io', `cannot read CNI config ${file}: ${(e as Error).message}`, { cause: e });
  }
  return parseNodeConfig(text, file);
}

export function describeError(e: unknown): string {
  if (isNnetError(e)) return e.message;
  return e instanceof Error ? e.message : String(e);
}

export type { NetConf };
