/**
 * What the parser must know about kubectl's own flags to find positional arguments (the verb,
 * the resource type, a pod's name) without changing anything: which flags take a value. Taken
 * from `kubectl options` and `kubectl <verb> --help` of kubectl 1.32. Flags not listed are
 * boolean; kubectl rejects unknown ones itself.
 */

export type Arity = 'none' | 'required' | 'optional';

export interface KubectlFlagSet {
  /** Long names of flags that take a value (`--flag value` or `--flag=value`). */
  value: readonly string[];
  /** Flags with a default for the bare form: a value only with `=` (`--dry-run=client`). */
  optional?: readonly string[];
  /** Short letter → long name. */
  shorts: Readonly<Record<string, string>>;
}

export const KUBECTL_GLOBAL_FLAGS: KubectlFlagSet = {
  value: [
    'as',
    'as-group',
    'as-uid',
    'cache-dir',
    'certificate-authority',
    'client-certificate',
    'client-key',
    'cluster',
    'context',
    'kubeconfig',
    'log-flush-frequency',
    'namespace',
    'password',
    'profile',
    'profile-output',
    'request-timeout',
    'server',
    'tls-server-name',
    'token',
    'user',
    'username',
    'v',
    'vmodule',
  ],
  shorts: { n: 'namespace', s: 'server', v: 'v', h: 'help' },
};

/** The verbs whose positionals or flags the parser reads. */
export const KUBECTL_VERB_FLAGS: Readonly<Record<string, KubectlFlagSet>> = {
  run: {
    value: [
      'annotations',
      'env',
      'field-manager',
      'filename',
      'grace-period',
      'image',
      'image-pull-policy',
      'kustomize',
      'labels',
      'output',
      'override-type',
      'overrides',
      'pod-running-timeout',
      'port',
      'restart',
      'template',
      'timeout',
    ],
    optional: ['cascade', 'dry-run'],
    shorts: {
      f: 'filename',
      k: 'kustomize',
      l: 'labels',
      o: 'output',
      q: 'quiet',
      R: 'recursive',
      i: 'stdin',
      t: 'tty',
    },
  },
  delete: {
    value: [
      'field-selector',
      'filename',
      'grace-period',
      'kustomize',
      'output',
      'raw',
      'selector',
      'timeout',
    ],
    optional: ['cascade', 'dry-run'],
    shorts: {
      A: 'all-namespaces',
      f: 'filename',
      i: 'interactive',
      k: 'kustomize',
      o: 'output',
      R: 'recursive',
      l: 'selector',
    },
  },
  apply: {
    value: [
      'field-manager',
      'filename',
      'grace-period',
      'kustomize',
      'output',
      'prune-allowlist',
      'selector',
      'subresource',
      'template',
      'timeout',
    ],
    optional: ['cascade', 'dry-run', 'validate'],
    shorts: { f: 'filename', k: 'kustomize', o: 'output', R: 'recursive', l: 'selector' },
  },
  create: {
    value: ['field-manager', 'filename', 'kustomize', 'output', 'raw', 'selector', 'template'],
    optional: ['dry-run', 'validate'],
    shorts: { f: 'filename', k: 'kustomize', o: 'output', R: 'recursive', l: 'selector' },
  },
  get: {
    value: [
      'chunk-size',
      'field-selector',
      'filename',
      'kustomize',
      'label-columns',
      'output',
      'raw',
      'selector',
      'sort-by',
      'subresource',
      'template',
    ],
    shorts: {
      A: 'all-namespaces',
      f: 'filename',
      k: 'kustomize',
      L: 'label-columns',
      o: 'output',
      R: 'recursive',
      l: 'selector',
      w: 'watch',
    },
  },
  describe: {
    value: ['chunk-size', 'filename', 'kustomize', 'selector'],
    shorts: { A: 'all-namespaces', f: 'filename', k: 'kustomize', R: 'recursive', l: 'selector' },
  },
  version: { value: ['output'], shorts: { o: 'output' } },
};

/** Global flags that are boolean (used to find the verb the way cobra does). */
export const KUBECTL_GLOBAL_BOOLS: readonly string[] = [
  'disable-compression',
  'insecure-skip-tls-verify',
  'match-server-version',
  'warnings-as-errors',
  'help',
];
