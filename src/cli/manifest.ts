/**
 * The manifest half of the parsing submodule: pure, given the text of the files named by `-f`.
 * Pods carry their network request in annotations:
 *
 *   metadata:
 *     name: pod1
 *     annotations:
 *       nnet.io/subnet: 1.2.0.0/16
 *       nnet.io/ip: 1.2.0.100              # dual-stack: "1.2.0.100,fd00:1::100"
 *
 * Multi-document YAML, JSON and `kind: List` (any `*List` with `items`) are read. Documents that
 * do not parse are skipped: kubectl reports them itself when it runs.
 */
import { parseAllDocuments } from 'yaml';
import { InputError } from '../errors/index.ts';
import { ANNOTATION_PREFIX, ANNOTATIONS } from './grammar.ts';
import type { PodNetworkRequest } from './types.ts';
import {
  checkDns1123Label,
  checkDns1123Subdomain,
  checkPodNetworkFields,
  type PodNetworkFields,
  splitList,
} from './validate.ts';

export interface ManifestText {
  /** Where the text came from, for messages: a path or "STDIN". */
  source: string;
  text: string;
}

export interface ManifestOptions {
  /** kubectl's -n, if given: a Pod naming another namespace is an error (as in kubectl). */
  namespace?: string;
  /** Namespace of Pods that name none and no -n: the kubeconfig context's; default "default". */
  defaultNamespace?: string;
  /** 'ignore': only list the Pods (for delete: bad annotations must not block it). Default 'check'. */
  annotations?: 'check' | 'ignore';
}

export interface PodRef {
  namespace: string;
  pod: string;
}

export interface ManifestPods {
  /** Pods with N-Net annotations: what to reserve. */
  requests: PodNetworkRequest[];
  /** Every named Pod in the manifests: what to release on delete. */
  pods: PodRef[];
  /** Some Pod named no namespace and no -n was given: its namespace is the default one. */
  usesDefaultNamespace: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function podNetworksFromManifests(
  texts: readonly ManifestText[],
  options: ManifestOptions = {},
): ManifestPods {
  const out: ManifestPods = { requests: [], pods: [], usesDefaultNamespace: false };
  const seen = new Map<string, string>();
  for (const { source, text } of texts) {
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) continue;
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch {
        continue;
      }
      collect(value, source, options, out, seen);
    }
  }
  return out;
}

function collect(
  value: unknown,
  source: string,
  options: ManifestOptions,
  out: ManifestPods,
  seen: Map<string, string>,
): void {
  if (!isObj(value)) return;
  const check = options.annotations !== 'ignore';
  const kind = typeof value.kind === 'string' ? value.kind : '';
  if (kind.endsWith('List') && Array.isArray(value.items)) {
    for (const item of value.items) collect(item, source, options, out, seen);
    return;
  }
  const metadata = isObj(value.metadata) ? value.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : undefined;
  const annotations = nnetAnnotations(metadata);
  if (kind !== 'Pod' || (typeof value.apiVersion === 'string' && value.apiVersion !== 'v1')) {
    if (!check) return;
    const template = isObj(value.spec) && isObj(value.spec.template) ? value.spec.template : {};
    const inTemplate = nnetAnnotations(isObj(template.metadata) ? template.metadata : {});
    const keys = Object.keys({ ...annotations, ...inTemplate });
    if (keys.length > 0) {
      throw new InputError(
        'invalid-config',
        `${kind || 'object'}/${name ?? '?'} in ${source} has ${keys.join(', ')}: N-Net annotations are read from Pods only (a static IP belongs to one pod)`,
      );
    }
    return;
  }
  const hasOwn = check && Object.keys(annotations).length > 0;
  if (name === undefined) {
    if (hasOwn)
      throw new InputError(
        'invalid-config',
        `a Pod in ${source} has N-Net annotations but no metadata.name (generateName cannot be reserved)`,
      );
    return;
  }
  const declared =
    typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : undefined;
  if (declared !== undefined && options.namespace !== undefined && declared !== options.namespace) {
    throw new InputError(
      'invalid-config',
      `the namespace from the provided object "${declared}" does not match the namespace "${options.namespace}". You must pass '--namespace=${declared}' to perform this operation.`,
    );
  }
  const namespace = declared ?? options.namespace ?? options.defaultNamespace ?? 'default';
  if (declared === undefined && options.namespace === undefined) out.usesDefaultNamespace = true;
  const where = `pod ${namespace}/${name} in ${source}`;
  if (!check) {
    out.pods.push({ namespace, pod: name });
    return;
  }
  const nsProblem = checkDns1123Label(namespace);
  if (nsProblem)
    throw new InputError('invalid-config', `invalid namespace "${namespace}" of ${where}: ${nsProblem}`);
  const nameProblem = checkDns1123Subdomain(name);
  if (nameProblem)
    throw new InputError('invalid-config', `invalid pod name "${name}" in ${source}: ${nameProblem}`);

  const key = `${namespace}/${name}`;
  const previous = seen.get(key);
  if (previous !== undefined)
    throw new InputError('invalid-config', `pod ${key} appears twice (${previous} and ${source})`);
  seen.set(key, source);
  out.pods.push({ namespace, pod: name });
  if (!hasOwn) return;

  const fields: PodNetworkFields = {};
  for (const [annotation, val] of Object.entries(annotations)) {
    const field = ANNOTATIONS[annotation];
    if (field === undefined) {
      throw new InputError(
        'invalid-config',
        `unknown annotation ${annotation} on ${where} (N-Net knows ${Object.keys(ANNOTATIONS).join(', ')})`,
      );
    }
    if (typeof val !== 'string')
      throw new InputError('invalid-config', `annotation ${annotation} on ${where} must be a string`);
    if (field === 'ip') {
      const ips = splitList(val);
      if (!ips)
        throw new InputError(
          'invalid-config',
          `invalid annotation ${annotation}="${val}" on ${where}: an empty entry in the list of IPs (give one IP, or an IPv4 and an IPv6 address separated by a comma)`,
        );
      fields.ips = ips;
    } else if (annotation === 'nnet.io/networks') {
      const nets = splitList(val);
      if (!nets)
        throw new InputError(
          'invalid-config',
          `invalid annotation ${annotation}="${val}" on ${where}: an empty entry in the list of networks`,
        );
      if (annotations['nnet.io/network'] !== undefined)
        throw new InputError(
          'invalid-config',
          `${where} has both nnet.io/network and nnet.io/networks; give the pod's networks in nnet.io/networks only (the first is eth0's)`,
        );
      fields.network = nets[0]!;
      if (nets.length > 1) fields.extraNetworks = nets.slice(1);
    } else if (field === 'security-group') {
      const groups = splitList(val);
      if (!groups)
        throw new InputError(
          'invalid-config',
          `invalid annotation ${annotation}="${val}" on ${where}: an empty entry in the list of security groups (give names or ids separated by commas)`,
        );
      fields.securityGroups = groups;
    } else fields[field] = val;
  }
  const checked = checkPodNetworkFields(fields);
  if (!checked.ok) {
    const annotation =
      checked.field === 'network' && annotations['nnet.io/networks'] !== undefined
        ? 'nnet.io/networks'
        : Object.keys(ANNOTATIONS).find((a) => ANNOTATIONS[a] === checked.field)!;
    throw new InputError(
      'invalid-config',
      `invalid annotation ${annotation}="${checked.value}" on ${where}: ${checked.reason}`,
    );
  }
  const { extraNetworks: _, ...asked } = checked.value;
  out.requests.push({ namespace, pod: name, ...asked, ips: checked.value.ips ?? [] });
}

function nnetAnnotations(metadata: Obj): Record<string, unknown> {
  const annotations = isObj(metadata.annotations) ? metadata.annotations : {};
  return Object.fromEntries(Object.entries(annotations).filter(([k]) => k.startsWith(ANNOTATION_PREFIX)));
}
