/**
 * nnet-install-cni's command line → typed options (pure). Bad input is
 * InputError('invalid-argument') naming the flag.
 *
 *   parseInstallArgs(['--template', '/etc/nnet/config/10-nnet.conflist'])
 */
import { InputError } from '../errors/index.ts';

export interface InstallArgs {
  /** The nnet plugin to install (the image's bundle). */
  plugin: string;
  /** The conflist template (the ConfigMap's key, mounted). */
  template: string;
  /** The host's CNI plugin dir, mounted into the container. */
  cniBinDir: string;
  /** The host's CNI config dir, mounted into the container. */
  cniConfDir: string;
  /** The conflist's file name in cniConfDir; default: the template's file name. */
  conflistName: string;
  help: boolean;
}

export const DEFAULTS = {
  plugin: '/opt/nnet/dist/nnet',
  template: '/etc/nnet/config/10-nnet.conflist',
  cniBinDir: '/host/opt/cni/bin',
  cniConfDir: '/host/etc/cni/net.d',
} as const;

export const USAGE = `Usage: nnet-install-cni [flags]

Installs the nnet CNI plugin and its conflist on the node (the DaemonSet's init container):
renders the conflist template with the node's facts, validates it with the plugin's own parser,
then copies the plugin into the CNI bin dir and writes the conflist, each through a temporary
file and a rename. Unchanged files are left as they are; a bad template writes nothing.

Flags:
  --plugin FILE          the plugin to install (default ${DEFAULTS.plugin})
  --template FILE        the conflist template (default ${DEFAULTS.template})
  --cni-bin-dir DIR      the host's CNI plugin dir, mounted (default ${DEFAULTS.cniBinDir})
  --cni-conf-dir DIR     the host's CNI config dir, mounted (default ${DEFAULTS.cniConfDir})
  --conflist-name NAME   the conflist's file name (default: the template's, e.g. 10-nnet.conflist)
  -h, --help             this text
The plugin is the thin client of nnet-agent: it reads no credentials, so none are installed on
the host (the agent reads them from its own mount of the Secret).
Template placeholders: \${NODE_NAME} (from the environment: the Downward API's spec.nodeName).
Exit: 0 done; 2 bad flags, template or credentials (nothing written); 1 writing failed (the
files not yet replaced are intact).
`;

const bad = (msg: string) => new InputError('invalid-argument', msg);
const VALUE_FLAGS = new Set(['plugin', 'template', 'cni-bin-dir', 'cni-conf-dir', 'conflist-name']);
const isAbsPath = (s: string) => s.startsWith('/') && !s.includes('\0');
const CONFLIST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}\.conflist$/;

export function parseInstallArgs(argv: readonly string[]): InstallArgs {
  const values = new Map<string, string>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw bad(`unexpected argument "${arg.slice(0, 60)}" (see --help)`);
    const name = m[1]!;
    if (!VALUE_FLAGS.has(name)) throw bad(`unknown flag --${name.slice(0, 40)} (see --help)`);
    if (values.has(name)) throw bad(`--${name} given twice`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw bad(`--${name} needs a value`);
    if (name !== 'conflist-name' && !isAbsPath(value)) throw bad(`--${name}: must be an absolute path`);
    values.set(name, value);
  }
  const template = values.get('template') ?? DEFAULTS.template;
  const conflistName = values.get('conflist-name') ?? template.slice(template.lastIndexOf('/') + 1);
  if (!CONFLIST_NAME.test(conflistName))
    throw bad(
      `the conflist's file name "${conflistName.slice(0, 60)}" must end in .conflist and hold only letters, digits, "_", "." and "-" (set --conflist-name)`,
    );
  return {
    plugin: values.get('plugin') ?? DEFAULTS.plugin,
    template,
    cniBinDir: values.get('cni-bin-dir') ?? DEFAULTS.cniBinDir,
    cniConfDir: values.get('cni-conf-dir') ?? DEFAULTS.cniConfDir,
    conflistName,
    help,
  };
}
