/**
 * What the install step will write, worked out before anything is written (pure: the template's
 * text and the node's facts in, a plan out). The conflist is the template with its placeholders
 * filled in, checked by the plugin's own config parser exactly as the plugin will see it at ADD,
 * so a template the plugin would refuse (CNI code 7) is refused here and nothing is written.
 *
 *   const plan = await planInstall(args, templateText, { nodeName: process.env.NODE_NAME });
 *   plan.conflist.content; // '{\n  "cniVersion": "1.0.0", …'
 */
import { join } from 'node:path';
import { pluginConfigOf } from '../agent/config.ts';
import { loadNetConf, type NetConf } from '../cni/index.ts';
import { InputError } from '../errors/index.ts';
import type { InstallArgs } from './args.ts';

/** What the node tells the install step (the Downward API, through the environment). */
export interface NodeFacts {
  /** spec.nodeName: fills ${NODE_NAME}. */
  nodeName: string | undefined;
}

export interface InstallPlan {
  plugin: { source: string; dest: string; mode: number };
  conflist: { dest: string; content: string; mode: number };
  /** The nnet plugin's config as the plugin itself parses it. */
  conf: NetConf;
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const DNS_SUBDOMAIN = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

/** Every string value of `doc` with ${NAME} replaced from `values`; unknown names are an error. */
export function fillPlaceholders(
  doc: unknown,
  values: Readonly<Record<string, string | undefined>>,
  file: string,
): unknown {
  if (typeof doc === 'string')
    return doc.replace(PLACEHOLDER, (_, name: string) => {
      if (!(name in values))
        throw new InputError(
          'invalid-config',
          `conflist template ${file} uses \${${name}}; the known placeholders are ${Object.keys(values)
            .map((k) => `\${${k}}`)
            .join(', ')}`,
        );
      const value = values[name];
      if (value === undefined)
        throw new InputError(
          'invalid-config',
          `conflist template ${file} uses \${${name}} but ${name} is not set in the environment (the DaemonSet sets it from the Downward API)`,
        );
      return value;
    });
  if (Array.isArray(doc)) return doc.map((v) => fillPlaceholders(v, values, file));
  if (doc !== null && typeof doc === 'object')
    return Object.fromEntries(
      Object.entries(doc).map(([k, v]) => [k, fillPlaceholders(v, values, file)] as const),
    );
  return doc;
}

function parseTemplate(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const at = /position (\d+)/.exec(e instanceof Error ? e.message : '');
    throw new InputError(
      'decode',
      `conflist template ${file} is not valid JSON${at ? ` (parse error at byte offset ${at[1]})` : ''}`,
    );
  }
}

function checkConflistShape(doc: unknown, file: string): void {
  const plugins = (doc as { plugins?: unknown } | null)?.plugins;
  if (doc === null || typeof doc !== 'object' || !Array.isArray(plugins) || plugins.length === 0)
    throw new InputError('invalid-config', `conflist template ${file} is not a conflist (a "plugins" list)`);
}

/** A node-local store cannot work on a cluster: every node's agent and kubenetctl share one. */
function checkSharedStore(conf: NetConf): void {
  if (conf.store.kind === 'sqlite')
    throw new InputError(
      'invalid-config',
      `invalid network config: field "store" is a SQLite file (${conf.store.url}) on one node; on a cluster every node's nnet-agent and kubenetctl share the store: use the cluster's etcd store (etcd:http://host:2379)`,
    );
}

export async function planInstall(
  args: InstallArgs,
  templateText: string,
  facts: NodeFacts,
): Promise<InstallPlan> {
  const file = args.template;
  if (facts.nodeName !== undefined && !DNS_SUBDOMAIN.test(facts.nodeName))
    throw new InputError('invalid-config', `NODE_NAME "${facts.nodeName.slice(0, 64)}" is not a node name`);
  const doc = fillPlaceholders(parseTemplate(templateText, file), { NODE_NAME: facts.nodeName }, file);
  checkConflistShape(doc, file);
  const conf = await loadNetConf(pluginConfigOf(doc, file), {
    command: 'ADD',
    ...(facts.nodeName !== undefined ? { hostname: facts.nodeName } : {}),
  });
  checkSharedStore(conf);
  return {
    plugin: { source: args.plugin, dest: join(args.cniBinDir, 'nnet'), mode: 0o755 },
    conflist: {
      dest: join(args.cniConfDir, args.conflistName),
      content: `${JSON.stringify(doc, null, 2)}\n`,
      mode: 0o644,
    },
    conf,
  };
}
