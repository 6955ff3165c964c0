/**
 * The parsing submodule: one pure function that splits a kubenetctl command line into the part
 * kubectl runs (unchanged, in order) and the part N-Net handles, driven by the tables in
 * grammar.ts. It reads no file and no environment; manifests named by `-f` are read by the
 * handler and given to `podNetworksFromManifests` (manifest.ts).
 *
 *   parseCommandLine(['run', 'pod1', '--image=nginx', '--subnet=1.2.0.0/16', '--ip=1.2.0.100', '-n', 'team-a'])
 *   // native:  ['run', 'pod1', '--image=nginx', '-n', 'team-a']
 *   // network: { kind: 'pod', pod: 'pod1', namespace: 'team-a', subnet: '1.2.0.0/16', ips: ['1.2.0.100'] }
 */
import { InputError } from '../errors/index.ts';
import { type Cidr, checkHostAddress, compareIp, type Ip, parseCidr, parseIp } from '../resources/index.ts';
import { POOL_LIMITS } from '../store/types.ts';
import {
  COMMANDS,
  COMMON_FLAGS,
  type CommandSpec,
  FLAGS,
  type FlagSpec,
  IPV6_MODES,
  MANIFEST_VERBS,
  NOUN_PLURAL,
  NOUN_WORDS,
  POD_FLAGS,
  POD_WORDS,
  SECRET_FLAGS,
} from './grammar.ts';
import {
  type Arity,
  KUBECTL_GLOBAL_BOOLS,
  KUBECTL_GLOBAL_FLAGS,
  KUBECTL_VERB_FLAGS,
} from './kubectl-flags.ts';
import { type ArgToken, type FlagToken, type ResolveFlag, resolverOf, scan, type Token } from './scan.ts';
import type {
  AllocationPool,
  ClusterCredentialSource,
  Ipv6Mode,
  ManifestSource,
  NetworkCommand,
  Noun,
  OutputFormat,
  ParsedCommandLine,
  PoolFlags,
  Scope,
} from './types.ts';
import {
  checkDns1123Label,
  checkDns1123Subdomain,
  checkPodNetworkFields,
  checkResourceName,
  type PodNetworkFields,
  splitList,
} from './validate.ts';

const NNET_VERBS = new Set(['connect', 'disconnect', 'gc']);
const RESOURCE_VERBS = new Set(['get', 'describe', 'create', 'delete', 'set']);

export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  const args = [...argv];
  const verb = findVerb(args);
  if (!verb) {
    const { tokens } = scan(args, globalResolver, 'required');
    const wantsHelp = args.length === 0 || tokens.some((t) => t.kind === 'flag' && t.name === 'help');
    return wantsHelp ? { native: args, network: { kind: 'help' } } : nativeOnly(args);
  }
  switch (verb.value) {
    case 'help':
      return parseHelp(args, verb);
    case 'version':
      return parseVersion(args);
    case 'run':
      return parseRun(args, verb);
    default:
      break;
  }
  if (NNET_VERBS.has(verb.value)) return { native: null, network: parseNetworkCommand(args, verb) };
  const bareNoun = NOUN_WORDS[verb.value];
  if (bareNoun) {
    // `kubenetctl networks --help`: what N-Net does with networks. kubectl has no such command.
    const { tokens } = scan(args, globalResolver, 'required');
    if (tokens.some((t) => t.kind === 'flag' && t.name === 'help'))
      return { native: null, network: { kind: 'help', topic: { command: 'noun', noun: bareNoun } } };
  }
  if (RESOURCE_VERBS.has(verb.value) || verb.value === 'apply') {
    const { tokens } = scan(args, looseResolver(verb.value), 'none');
    const typeArg = argsAfter(tokens, verb)[0];
    if (typeArg && typeWords(typeArg.value).some((w) => w in NOUN_WORDS)) {
      if (!RESOURCE_VERBS.has(verb.value)) return nativeOnly(args);
      return { native: null, network: parseNetworkCommand(args, verb) };
    }
    if (verb.value === 'delete' && typeArg) return parseDeletePods(args, verb);
    if (verb.value in MANIFEST_VERBS && !typeArg) return parseManifestVerb(args, verb);
  }
  return nativeOnly(args);
}

// ---------------------------------------------------------------------------------------------
// Finding things without changing them

const nativeOnly = (args: string[]): ParsedCommandLine => ({ native: args, network: null });

const globalArities = new Map<string, Arity>([
  ...KUBECTL_GLOBAL_FLAGS.value.map((n) => [n, 'required'] as const),
  ...KUBECTL_GLOBAL_BOOLS.map((n) => [n, 'none'] as const),
]);
const globalResolver = resolverOf(globalArities, KUBECTL_GLOBAL_FLAGS.shorts);

/** The verb is the first positional; unknown flags before it take a value (as cobra assumes). */
function findVerb(args: string[]): ArgToken | undefined {
  const { tokens } = scan(args, globalResolver, 'required');
  return tokens.find((t): t is ArgToken => t.kind === 'arg');
}

/** kubectl's flags of one verb plus the global ones. */
function kubectlResolver(verb: string): ResolveFlag {
  const set = KUBECTL_VERB_FLAGS[verb];
  if (!set) return globalResolver;
  const arities = new Map(globalArities);
  for (const n of set.value) arities.set(n, 'required');
  for (const n of set.optional ?? []) arities.set(n, 'optional');
  for (const long of Object.values(set.shorts)) if (!arities.has(long)) arities.set(long, 'none');
  return resolverOf(arities, { ...KUBECTL_GLOBAL_FLAGS.shorts, ...set.shorts });
}

const nnetArity = (spec: FlagSpec): Arity => (spec.type === 'bool' ? 'none' : 'required');

/** To find the resource type: N-Net's flags first, then kubectl's for the verb. */
function looseResolver(verb: string): ResolveFlag {
  const kubectl = kubectlResolver(verb);
  return (name, short) => {
    const spec = short ? Object.values(FLAGS).find((f) => f.short === name) : FLAGS[name];
    return spec ? { name: spec.name, arity: nnetArity(spec) } : kubectl(name, short);
  };
}

function argsAfter(tokens: Token[], verb: ArgToken): ArgToken[] {
  return tokens.filter((t): t is ArgToken => t.kind === 'arg' && t.index > verb.index);
}

const flagTokens = (tokens: Token[]) => tokens.filter((t): t is FlagToken => t.kind === 'flag');

/** `pods,svc/x` → ['pods', 'svc']: the resource words of a TYPE[,TYPE] or TYPE/NAME argument. */
function typeWords(arg: string): string[] {
  const slash = arg.indexOf('/');
  return (slash < 0 ? arg : arg.slice(0, slash)).split(',');
}

function lastValue(flags: FlagToken[], name: string): string | undefined {
  let value: string | undefined;
  for (const f of flags) if (f.name === name && f.value !== undefined) value = f.value;
  return value;
}

function isDryRun(flags: FlagToken[]): boolean {
  const f = flags.filter((t) => t.name === 'dry-run').at(-1);
  return f !== undefined && f.value !== 'none';
}

function boolFlag(flags: FlagToken[], name: string): boolean {
  const f = flags.filter((t) => t.name === name).at(-1);
  return f !== undefined && f.value !== 'false';
}

function invalid(message: string): InputError {
  return new InputError('invalid-argument', message);
}

/** pflag's wording. */
function needsArgument(f: FlagToken): string {
  return f.short
    ? `flag needs an argument: '${f.typed}' in -${f.typed}`
    : `flag needs an argument: --${f.typed}`;
}

function invalidValue(flag: string, value: string, reason: string): InputError {
  return invalid(`invalid argument "${value}" for "--${flag}" flag: ${reason}`);
}

// ---------------------------------------------------------------------------------------------
// help and version

function parseHelp(args: string[], verb: ArgToken): ParsedCommandLine {
  const { tokens } = scan(args, globalResolver, 'required');
  const rest = argsAfter(tokens, verb).map((t) => t.value);
  if (rest.length === 0) return { native: args, network: { kind: 'help' } };
  const [command, word] = rest;
  const topicNoun = command === undefined ? undefined : NOUN_WORDS[command];
  if (topicNoun && word === undefined)
    return { native: null, network: { kind: 'help', topic: { command: 'noun', noun: topicNoun } } };
  const noun = word === undefined ? undefined : NOUN_WORDS[word];
  if (command && NNET_VERBS.has(command)) {
    const row = COMMANDS.find((c) => c.verb === command);
    return {
      native: null,
      network: { kind: 'help', topic: { command: row!.id, ...(noun ? { noun } : {}) } },
    };
  }
  if (command && RESOURCE_VERBS.has(command) && noun) {
    return { native: null, network: { kind: 'help', topic: { command: rowFor(command, noun).id, noun } } };
  }
  return nativeOnly(args);
}

/** `version`: kubenetctl's version, then kubectl's (the same arguments). */
function parseVersion(args: string[]): ParsedCommandLine {
  const { tokens } = scan(args, kubectlResolver('version'));
  const flags = flagTokens(tokens);
  if (flags.some((f) => f.name === 'help')) return nativeOnly(args);
  const output = lastValue(flags, 'output');
  if (output === undefined || output === '') return { native: args, network: { kind: 'version' } };
  if (output === 'json' || output === 'yaml') return { native: args, network: { kind: 'version', output } };
  return nativeOnly(args); // kubectl reports the bad -o itself
}

// ---------------------------------------------------------------------------------------------
// Mixed lines: kubectl runs, N-Net acts around it

/** `run POD … --network/--subnet/--ip`: those flags are N-Net's, the rest is kubectl's. */
function parseRun(args: string[], verb: ArgToken): ParsedCommandLine {
  const kubectl = kubectlResolver('run');
  const resolve: ResolveFlag = (name, short) =>
    !short && POD_FLAGS.includes(name) ? { name, arity: 'required' } : kubectl(name, short);
  const { tokens } = scan(args, resolve);
  const flags = flagTokens(tokens);
  const ours = flags.filter((f) => !f.short && POD_FLAGS.includes(f.name));
  if (ours.length === 0) return nativeOnly(args);

  const fields = podFields(ours);
  const name = argsAfter(tokens, verb)[0]?.value;
  if (name === undefined) throw invalid('NAME is required for run');
  const nameProblem = checkDns1123Subdomain(name);
  if (nameProblem) throw invalid(`invalid pod name "${name}": ${nameProblem}`);
  const namespace = namespaceOf(flags);

  const drop = new Set<number>();
  for (const f of ours) for (let i = f.start; i < f.end; i++) drop.add(i);
  const native = args.filter((_, i) => !drop.has(i));
  const network: NetworkCommand = {
    kind: 'pod',
    pod: name,
    ...(namespace !== undefined ? { namespace } : {}),
    ...fields,
    ...(isDryRun(flags) ? { dryRun: true as const } : {}),
    ...(boolFlag(flags, 'rm') ? { rm: true as const } : {}),
  };
  return { native, network };
}

/** The pod flags' values, each given once (--ip: once per family), checked and canonical. */
function podFields(flags: FlagToken[]): PodNetworkFields & { ips: string[] } {
  const raw: Record<string, string[]> = {};
  for (const f of flags) {
    if (f.missingValue || f.value === undefined) throw invalid(needsArgument(f));
    const values = raw[f.name] ?? [];
    if (values.length > 0 && !['ip', 'security-group', 'network'].includes(f.name))
      throw invalid(`flag --${f.name} may be given only once`);
    raw[f.name] = [...values, f.value];
  }
  return checkedPodFields(raw);
}

/** `--ip A --ip B` and `--ip A,B` alike: the list of IPs of the repeated flag. */
function ipList(values: readonly string[]): string[] {
  return values.flatMap((v) => {
    const items = splitList(v);
    if (!items) throw invalidValue('ip', v, 'an empty entry in the list of IPs');
    return items;
  });
}

/** `--security-group a --security-group b` and `--security-group a,b` alike. */
function groupList(values: readonly string[]): string[] {
  return values.flatMap((v) => {
    const items = splitList(v);
    if (!items) throw invalidValue('security-group', v, 'an empty entry in the list of security groups');
    return items;
  });
}

/** The --security-group values of a network command, checked; undefined when not given. */
function groupsOf(p: StrictFlags): string[] | undefined {
  const values = p.values.get('security-group');
  if (values === undefined) return undefined;
  const checked = checkPodNetworkFields({ securityGroups: groupList(values) });
  if (!checked.ok) throw invalidValue(checked.field, checked.value, checked.reason);
  return checked.value.securityGroups!;
}

function checkedPodFields(
  raw: Readonly<Record<string, readonly string[]>>,
): PodNetworkFields & { ips: string[] } {
  const first = (name: string) => raw[name]?.[0];
  const fields: PodNetworkFields = {
    ...(first('network') !== undefined ? { network: first('network')! } : {}),
    ...((raw.network?.length ?? 0) > 1 ? { extraNetworks: raw.network!.slice(1) } : {}),
    ...(first('subnet') !== undefined ? { subnet: first('subnet')! } : {}),
    ips: ipList(raw.ip ?? []),
    ...(first('mac') !== undefined ? { mac: first('mac')! } : {}),
    ...(raw['security-group'] !== undefined ? { securityGroups: groupList(raw['security-group']) } : {}),
  };
  const checked = checkPodNetworkFields(fields);
  if (!checked.ok) throw invalidValue(checked.field, checked.value, checked.reason);
  const { extraNetworks: _, ...value } = checked.value;
  return { ...value, ips: checked.value.ips ?? [] };
}

function namespaceOf(flags: FlagToken[]): string | undefined {
  const ns = lastValue(flags, 'namespace');
  if (ns === undefined) return undefined;
  const problem = checkDns1123Label(ns);
  if (problem) throw invalidValue('namespace', ns, problem);
  return ns;
}

/** `delete pod NAME…` (or pod/NAME): kubectl deletes, then N-Net releases the pods' networks. */
function parseDeletePods(args: string[], verb: ArgToken): ParsedCommandLine {
  const { tokens } = scan(args, kubectlResolver('delete'));
  const flags = flagTokens(tokens);
  if (flags.some((f) => f.name === 'filename')) return parseManifestVerb(args, verb);
  if (isDryRun(flags) || flags.some((f) => f.name === 'help')) return nativeOnly(args);
  const positional = argsAfter(tokens, verb).map((t) => t.value);
  const pods: string[] = [];
  if (positional[0]!.includes('/')) {
    for (const arg of positional) {
      const slash = arg.indexOf('/');
      if (slash > 0 && POD_WORDS.includes(arg.slice(0, slash)) && arg.length > slash + 1)
        pods.push(arg.slice(slash + 1));
    }
  } else if (positional[0]!.split(',').some((w) => POD_WORDS.includes(w))) {
    pods.push(...positional.slice(1));
  }
  if (pods.length === 0) return nativeOnly(args);
  const namespace = lastValue(flags, 'namespace');
  return {
    native: args,
    network: { kind: 'release-pod', pods, ...(namespace !== undefined ? { namespace } : {}) },
  };
}

/** `apply|create|delete -f …`: kubectl gets the whole line; N-Net reads the pods' annotations. */
function parseManifestVerb(args: string[], verb: ArgToken): ParsedCommandLine {
  const { tokens } = scan(args, kubectlResolver(verb.value));
  const flags = flagTokens(tokens);
  if (flags.some((f) => f.name === 'help')) return nativeOnly(args);
  const sources: ManifestSource[] = [];
  for (const f of flags) {
    if (f.name !== 'filename' || f.value === undefined) continue;
    for (const part of f.value.split(',')) {
      if (part === '') continue;
      if (part === '-') sources.push({ kind: 'stdin' });
      else if (/^https?:\/\//.test(part)) sources.push({ kind: 'url', url: part });
      else sources.push({ kind: 'file', path: part });
    }
  }
  if (sources.length === 0) return nativeOnly(args);
  const namespace = lastValue(flags, 'namespace');
  return {
    native: args,
    network: {
      kind: 'pod-manifests',
      action: MANIFEST_VERBS[verb.value]!,
      sources,
      recursive: boolFlag(flags, 'recursive'),
      ...(namespace !== undefined ? { namespace } : {}),
      ...(isDryRun(flags) ? { dryRun: true as const } : {}),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Network commands: N-Net's own, checked strictly against their table row

function rowFor(verb: string, noun: Noun | undefined): CommandSpec {
  const row = COMMANDS.find(
    (c) => c.verb === verb && (c.nouns.length === 0 || (noun && c.nouns.includes(noun))),
  );
  if (!row) {
    const nouns = [...new Set(COMMANDS.filter((c) => c.verb === verb).flatMap((c) => c.nouns))];
    throw invalid(`kubenetctl ${verb} takes one of: ${nouns.join(', ')}${noun ? `; not ${noun}` : ''}`);
  }
  return row;
}

interface StrictFlags {
  values: Map<string, string[]>;
  bools: Set<string>;
}

function usageHint(row: CommandSpec, noun?: Noun): string {
  const word = noun && (row.verb === 'get' || row.verb === 'describe') ? NOUN_PLURAL[noun] : noun;
  return `\nSee 'kubenetctl ${row.verb}${word ? ` ${word}` : ''} --help' for usage.`;
}

function parseNetworkCommand(args: string[], verb: ArgToken): NetworkCommand {
  // The row depends on the noun; find it with a loose pass, then parse strictly.
  const loose = scan(args, looseResolver(verb.value), 'none');
  const wantsHelp = loose.tokens.some((t) => t.kind === 'flag' && t.name === 'help');
  let noun: Noun | undefined;
  let positional = argsAfter(loose.tokens, verb).map((t) => t.value);
  if (verb.value !== 'gc') {
    const typeArg = positional[0];
    if (typeArg === undefined) {
      const rows = COMMANDS.filter((c) => c.verb === verb.value);
      if (wantsHelp) return { kind: 'help', topic: { command: rows[0]!.id } };
      const nouns = [...new Set(rows.flatMap((c) => c.nouns))];
      throw invalid(`kubenetctl ${verb.value} needs a resource type: one of ${nouns.join(', ')}`);
    }
    noun = nounOf(typeArg);
  }
  const row = rowFor(verb.value, noun);
  if (wantsHelp) return { kind: 'help', topic: { command: row.id, ...(noun ? { noun } : {}) } };
  const allowed = [...COMMON_FLAGS, ...row.flags];
  const byShort = new Map<string, FlagSpec>();
  const byName = new Map<string, FlagSpec>();
  for (const name of allowed) {
    const spec = FLAGS[name]!;
    byName.set(spec.name, spec);
    for (const alias of spec.aliases ?? []) byName.set(alias, spec);
    if (spec.short) byShort.set(spec.short, spec);
  }
  const resolve: ResolveFlag = (name, short) => {
    const spec = short ? byShort.get(name) : byName.get(name);
    return spec ? { name: spec.name, arity: nnetArity(spec) } : undefined;
  };
  const { tokens, dashdash } = scan(args, resolve, 'none');
  const flags = flagTokens(tokens);
  const parsed: StrictFlags = { values: new Map(), bools: new Set() };
  for (const f of flags) {
    const dashes = f.short ? '-' : '--';
    if (!f.known) {
      if (SECRET_FLAGS.includes(f.name)) {
        throw invalid(
          `${dashes}${f.name} would put a secret on the command line (visible in ps and shell history); ` +
            'use --secret-stdin, --secret-file, a clouds.yaml entry (--cloud) or the OS_* variables',
        );
      }
      const typed = f.short ? `'${f.typed}' in -${f.typed}` : `--${f.typed}`;
      throw invalid(`unknown ${f.short ? 'shorthand flag' : 'flag'}: ${typed}${usageHint(row, noun)}`);
    }
    const spec = FLAGS[f.name]!;
    if (spec.type === 'bool') {
      if (f.value !== undefined && !['true', 'false'].includes(f.value))
        throw invalidValue(f.name, f.value, 'must be true or false');
      if (f.value === 'false') parsed.bools.delete(f.name);
      else parsed.bools.add(f.name);
      continue;
    }
    if (f.missingValue || f.value === undefined) throw invalid(needsArgument(f));
    const list = parsed.values.get(f.name) ?? [];
    if (list.length > 0 && !spec.repeatable && !row.repeats?.includes(f.name))
      throw invalid(`flag --${f.name} may be given only once`);
    list.push(f.value);
    parsed.values.set(f.name, list);
  }
  positional = [
    ...argsAfter(tokens, verb).map((t) => t.value),
    ...(dashdash === undefined ? [] : args.slice(dashdash + 1)),
  ];
  for (const name of row.required ?? []) {
    if (!parsed.values.has(name)) throw invalid(`required flag "--${name}" not set${usageHint(row, noun)}`);
  }

  let names: string[];
  if (noun === undefined) names = positional;
  else names = namesAfterType(positional, noun);
  if (names.length < row.args.min || names.length > row.args.max) {
    if (row.args.max === 0) throw invalid(`kubenetctl ${row.verb} takes no arguments, got ${names.length}`);
    if (row.args.min === row.args.max)
      throw invalid(`exactly one ${row.args.name} is required, got ${names.length}${usageHint(row, noun)}`);
    throw invalid(`at least one ${row.args.name} is required${usageHint(row, noun)}`);
  }
  for (const name of names) checkName(noun, name);
  return buildCommand(row, noun, names, parsed);
}

function nounOf(typeArg: string): Noun {
  const words = typeWords(typeArg);
  const nouns = new Set(words.map((w) => NOUN_WORDS[w]));
  if (nouns.has(undefined)) {
    throw invalid(`N-Net resources cannot be mixed with Kubernetes resources in one command: "${typeArg}"`);
  }
  if (nouns.size > 1) throw invalid(`N-Net commands take one resource type at a time: "${typeArg}"`);
  return [...nouns][0]!;
}

/** Names after the type word; `network/a network/b` (TYPE/NAME) works too. */
function namesAfterType(positional: string[], noun: Noun): string[] {
  const [first, ...rest] = positional;
  if (first === undefined) return [];
  if (!first.includes('/')) return rest;
  return positional.map((arg) => {
    const slash = arg.indexOf('/');
    if (slash < 0)
      throw invalid(
        `there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'kubenetctl get ${noun}/NAME')`,
      );
    if (NOUN_WORDS[arg.slice(0, slash)] !== noun)
      throw invalid(`N-Net commands take one resource type at a time: "${arg}"`);
    return arg.slice(slash + 1);
  });
}

function checkName(noun: Noun | undefined, name: string): void {
  let problem: string | undefined;
  if (noun === 'podnetwork' || noun === 'pool') problem = checkDns1123Subdomain(name);
  else if (noun === 'cluster') problem = checkDns1123Label(name);
  else problem = checkResourceName(name);
  if (problem) throw invalid(`invalid ${noun ?? 'argument'} name "${name}": ${problem}`);
}

// ---------------------------------------------------------------------------------------------
// Building each row's command

function one(p: StrictFlags, name: string): string | undefined {
  return p.values.get(name)?.[0];
}

function scopeOf(p: StrictFlags): Scope {
  const scope: Scope = {};
  const cluster = one(p, 'cluster');
  if (cluster !== undefined) {
    const problem = checkDns1123Label(cluster);
    if (problem) throw invalidValue('cluster', cluster, problem);
    scope.cluster = cluster;
  }
  const namespace = one(p, 'namespace');
  if (namespace !== undefined) {
    const problem = checkDns1123Label(namespace);
    if (problem) throw invalidValue('namespace', namespace, problem);
    scope.namespace = namespace;
  }
  if (p.bools.has('all-namespaces')) scope.allNamespaces = true;
  const store = one(p, 'store');
  if (store !== undefined) {
    if (!/^(sqlite|etcd):/.test(store))
      throw invalidValue('store', store, 'expected sqlite:/PATH or etcd:http://HOST:PORT');
    scope.store = store;
  }
  const osCloud = one(p, 'os-cloud');
  if (osCloud !== undefined) scope.osCloud = osCloud;
  const context = one(p, 'context');
  if (context !== undefined) scope.kubeContext = context;
  const kubeconfig = one(p, 'kubeconfig');
  if (kubeconfig !== undefined) scope.kubeconfig = kubeconfig;
  const v = one(p, 'v');
  if (v !== undefined) scope.verbosity = intValue('v', v, 0, 10);
  return scope;
}

function intValue(flag: string, text: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text)) throw invalidValue(flag, text, 'not an integer');
  const n = Number(text);
  if (n < min || n > max) throw invalidValue(flag, text, `must be between ${min} and ${max}`);
  return n;
}

function outputOf(row: CommandSpec, noun: Noun | undefined, p: StrictFlags): OutputFormat {
  const o = one(p, 'output');
  if (o === undefined) return 'table';
  const allowed = (row.outputs ?? []).filter((f) => f !== 'table');
  if (!(allowed as readonly string[]).includes(o)) {
    throw invalid(
      `unable to match a printer suitable for the output format "${o}", allowed formats are: ${[...allowed].sort().join(',')}${usageHint(row, noun)}`,
    );
  }
  return o as OutputFormat;
}

function nameValue(p: StrictFlags, flag: string): string | undefined {
  const v = one(p, flag);
  if (v === undefined) return undefined;
  const problem = checkResourceName(v);
  if (problem) throw invalidValue(flag, v, problem);
  return v;
}

function buildCommand(
  row: CommandSpec,
  noun: Noun | undefined,
  names: string[],
  p: StrictFlags,
): NetworkCommand {
  const scope = scopeOf(p);
  const output = outputOf(row, noun, p);
  const withOutput = output === 'table' ? {} : { output };
  const description = one(p, 'description');
  const described = description === undefined ? {} : { description };
  switch (row.id) {
    case 'get':
      return { kind: 'get', noun: noun!, names, output, ...(p.bools.has('all') ? { all: true } : {}), scope };
    case 'describe':
      return { kind: 'describe', noun: noun!, names, scope };
    case 'delete':
      return { kind: 'delete', noun: noun!, names, ...(p.bools.has('force') ? { force: true } : {}), scope };
    case 'create-network': {
      const mtu = one(p, 'mtu');
      return {
        kind: 'create-network',
        name: names[0]!,
        ...(mtu !== undefined ? { mtu: intValue('mtu', mtu, 68, 65535) } : {}),
        ...described,
        ...withOutput,
        scope,
      };
    }
    case 'create-subnet':
      return { ...buildSubnet(names[0]!, p), ...described, ...withOutput, scope };
    case 'create-router': {
      const externalNetwork = nameValue(p, 'external-network');
      return {
        kind: 'create-router',
        name: names[0]!,
        ...(externalNetwork !== undefined ? { externalNetwork } : {}),
        ...described,
        ...withOutput,
        scope,
      };
    }
    case 'create-cluster':
      return buildCluster(names[0]!, p, withOutput, scope);
    case 'set-cluster': {
      const { pool } = poolFlagsOf(p);
      const defaultNetwork = nameValue(p, 'default-network');
      const defaultSubnet = nameValue(p, 'default-subnet');
      const securityGroups = groupsOf(p);
      if (
        !pool &&
        defaultNetwork === undefined &&
        defaultSubnet === undefined &&
        securityGroups === undefined
      )
        throw invalid(
          `kubenetctl set cluster: nothing to set: give --pool-min, --pool-max, --pool-batch, --default-network, --default-subnet or --security-group${usageHint(row, noun)}`,
        );
      return {
        kind: 'set-cluster',
        name: names[0]!,
        ...(pool ? { pool } : {}),
        ...(defaultNetwork !== undefined ? { defaultNetwork } : {}),
        ...(defaultSubnet !== undefined ? { defaultSubnet } : {}),
        ...(securityGroups !== undefined ? { securityGroups } : {}),
        ...withOutput,
        scope,
      };
    }
    case 'set-podnetwork': {
      const { namespace, ...rest } = scope;
      return {
        kind: 'set-podnetwork',
        pod: names[0]!,
        ...(namespace !== undefined ? { namespace } : {}),
        securityGroups: groupsOf(p)!,
        ...withOutput,
        scope: rest,
      };
    }
    case 'create-podnetwork': {
      const { namespace, ...rest } = scope;
      return {
        kind: 'create-podnetwork',
        pod: names[0]!,
        ...(namespace !== undefined ? { namespace } : {}),
        ...podFieldsFromFlags(p),
        ...withOutput,
        scope: rest,
      };
    }
    case 'connect-router':
    case 'disconnect-router': {
      const subnet = one(p, 'subnet')!;
      const fields = checkPodNetworkFields({ subnet });
      if (!fields.ok) throw invalidValue('subnet', subnet, fields.reason);
      return { kind: row.id, router: names[0]!, subnet: fields.value.subnet!, scope };
    }
    case 'gc': {
      const cniConfig = one(p, 'cni-config');
      const node = nameValue(p, 'node');
      const minAge = one(p, 'min-age');
      if (cniConfig !== undefined && p.bools.has('dry-run'))
        throw invalid('kubenetctl gc: --dry-run cannot be combined with --cni-config (the node sweep acts)');
      if (node !== undefined && p.bools.has('dry-run'))
        throw invalid('kubenetctl gc: --dry-run cannot be combined with --node (the release acts)');
      return {
        kind: 'gc',
        dryRun: p.bools.has('dry-run'),
        scope,
        ...(minAge !== undefined ? { minAgeSeconds: intValue('min-age', minAge, 0, 31_536_000) } : {}),
        ...(cniConfig !== undefined ? { cniConfig } : {}),
        ...(node !== undefined ? { node } : {}),
      };
    }
    default:
      throw new Error(`no builder for command ${row.id}`);
  }
}

function podFieldsFromFlags(p: StrictFlags): PodNetworkFields & { ips: string[] } {
  const raw = Object.fromEntries(
    POD_FLAGS.flatMap((name) => (p.values.has(name) ? [[name, p.values.get(name)!]] : [])),
  );
  if (Object.keys(raw).length === 0)
    throw invalid('give at least one of --network, --subnet, --ip, --mac, --security-group');
  return checkedPodFields(raw);
}

function mustIp(flag: string, text: string): Ip {
  const ip = parseIp(text);
  if (!ip.ok) throw invalidValue(flag, text, ip.reason);
  return ip.value;
}

function hostIn(flag: string, text: string, cidr: Cidr): Ip {
  const ip = mustIp(flag, text);
  const problem = checkHostAddress(ip, cidr);
  if (problem) throw invalidValue(flag, text, problem);
  return ip;
}

function buildSubnet(name: string, p: StrictFlags): NetworkCommand & { kind: 'create-subnet' } {
  const network = nameValue(p, 'network')!;
  const cidrText = one(p, 'cidr')!;
  const parsedCidr = parseCidr(cidrText);
  if (!parsedCidr.ok) throw invalidValue('cidr', cidrText, parsedCidr.reason);
  const cidr = parsedCidr.value;
  const versionText = one(p, 'ip-version');
  if (versionText !== undefined) {
    if (versionText !== '4' && versionText !== '6')
      throw invalidValue('ip-version', versionText, 'must be 4 or 6');
    if (Number(versionText) !== cidr.family)
      throw invalidValue('ip-version', versionText, `the range ${cidr.cidr} is IPv${cidr.family}`);
  }
  const mode = one(p, 'ipv6-address-mode');
  if (mode !== undefined) {
    if (!(IPV6_MODES as readonly string[]).includes(mode))
      throw invalidValue('ipv6-address-mode', mode, `must be ${IPV6_MODES.join(', ')}`);
    if (cidr.family !== 6)
      throw invalidValue(
        'ipv6-address-mode',
        mode,
        `${cidr.cidr} is an IPv4 range (the mode applies to IPv6 subnets)`,
      );
  }

  let gateway: string | null | undefined;
  const gatewayText = one(p, 'gateway');
  if (p.bools.has('no-gateway')) {
    if (gatewayText !== undefined) throw invalid('--gateway and --no-gateway cannot be used together');
    gateway = null;
  } else if (gatewayText !== undefined) gateway = hostIn('gateway', gatewayText, cidr).text;

  const pools: AllocationPool[] = [];
  const ranges: [Ip, Ip][] = [];
  for (const text of p.values.get('allocation-pool') ?? []) {
    const dash = text.indexOf('-');
    if (dash < 0) throw invalidValue('allocation-pool', text, 'expected START-END, e.g. 1.2.0.10-1.2.0.200');
    const start = hostIn('allocation-pool', text.slice(0, dash), cidr);
    const end = hostIn('allocation-pool', text.slice(dash + 1), cidr);
    if (compareIp(start, end) > 0) throw invalidValue('allocation-pool', text, 'START is after END');
    for (const [s, e] of ranges) {
      if (compareIp(start, e) <= 0 && compareIp(s, end) <= 0)
        throw invalidValue('allocation-pool', text, `overlaps ${s.text}-${e.text}`);
    }
    if (gateway) {
      const gw = mustIp('gateway', gateway);
      if (compareIp(start, gw) <= 0 && compareIp(gw, end) <= 0)
        throw invalidValue('allocation-pool', text, `contains the gateway ${gateway}`);
    }
    ranges.push([start, end]);
    pools.push({ start: start.text, end: end.text });
  }
  const dns = (p.values.get('dns') ?? []).map((text) => mustIp('dns', text).text);
  return {
    kind: 'create-subnet',
    name,
    network,
    cidr: cidr.cidr,
    ipVersion: cidr.family,
    ...(mode !== undefined ? { ipv6AddressMode: mode as Ipv6Mode } : {}),
    ...(gateway !== undefined ? { gateway } : {}),
    allocationPools: pools,
    dns,
    dhcp: !p.bools.has('no-dhcp'),
    scope: {},
  };
}

const AUTH_FLAGS = [
  'auth-url',
  'username',
  'user-domain',
  'project',
  'project-domain',
  'application-credential-id',
  'secret-stdin',
  'secret-file',
];

function buildCluster(
  name: string,
  p: StrictFlags,
  withOutput: { output?: OutputFormat },
  scope: Scope,
): NetworkCommand {
  const given = (flag: string) => p.values.has(flag) || p.bools.has(flag);
  let credentials: ClusterCredentialSource;
  const cloud = one(p, 'cloud');
  const cloudsFile = one(p, 'clouds-file');
  if (cloud !== undefined) {
    const clash = AUTH_FLAGS.find(given);
    if (clash)
      throw invalid(`--cloud takes the credentials from clouds.yaml; it cannot be combined with --${clash}`);
    credentials = { from: 'clouds-yaml', cloud, ...(cloudsFile !== undefined ? { cloudsFile } : {}) };
  } else if (cloudsFile !== undefined) {
    throw invalid('--clouds-file needs --cloud (the entry to read)');
  } else if (given('auth-url')) {
    const authUrl = one(p, 'auth-url')!;
    checkAuthUrl(authUrl);
    const secretFile = one(p, 'secret-file');
    if (p.bools.has('secret-stdin') && secretFile !== undefined)
      throw invalid('--secret-stdin and --secret-file cannot be used together');
    if (!p.bools.has('secret-stdin') && secretFile === undefined)
      throw invalid(
        '--auth-url needs a secret: give --secret-stdin or --secret-file (never the secret itself)',
      );
    const appCred = one(p, 'application-credential-id');
    const username = one(p, 'username');
    const project = one(p, 'project');
    if (appCred === undefined && (username === undefined || project === undefined))
      throw invalid('--auth-url needs --username and --project, or --application-credential-id');
    const optional: Record<string, string | undefined> = {
      username,
      userDomain: one(p, 'user-domain'),
      project,
      projectDomain: one(p, 'project-domain'),
      applicationCredentialId: appCred,
    };
    credentials = {
      from: 'flags',
      authUrl,
      ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
      secret: secretFile !== undefined ? { from: 'file', path: secretFile } : { from: 'stdin' },
    };
  } else {
    const stray = AUTH_FLAGS.find(given);
    if (stray) throw invalid(`--${stray} needs --auth-url (or use --cloud, or the OS_* variables)`);
    credentials = { from: 'env' };
  }
  const iface = one(p, 'interface');
  if (iface !== undefined && !['public', 'internal', 'admin'].includes(iface))
    throw invalidValue('interface', iface, 'must be public, internal or admin');
  const region = one(p, 'region');
  const defaultNetwork = nameValue(p, 'default-network');
  const defaultSubnet = nameValue(p, 'default-subnet');
  const serviceCidrText = one(p, 'service-cidr');
  const serviceCidrs = serviceCidrText === undefined ? undefined : serviceCidrList(serviceCidrText);
  const securityGroups = groupsOf(p);
  const nodePath = one(p, 'node-credentials');
  const nodeCloud = one(p, 'node-cloud');
  if (nodePath !== undefined && !nodePath.startsWith('/'))
    throw invalidValue('node-credentials', nodePath, 'must be an absolute path (the one every node has)');
  if (nodeCloud !== undefined && nodePath === undefined)
    throw invalid('--node-cloud needs --node-credentials (the file it is in)');
  const migrate = p.bools.has('migrate-credentials');
  if (migrate) {
    const clash = ['default-network', 'default-subnet', 'service-cidr', 'security-group'].find(given);
    if (clash) throw invalid(`--migrate-credentials changes only the credentials; it cannot take --${clash}`);
  }
  return {
    kind: 'create-cluster',
    name,
    credentials,
    ...(nodePath !== undefined
      ? { nodeCredentials: { path: nodePath, ...(nodeCloud !== undefined ? { cloud: nodeCloud } : {}) } }
      : {}),
    ...(migrate ? { migrateCredentials: true } : {}),
    ...(region !== undefined ? { region } : {}),
    ...(iface !== undefined ? { interface: iface as 'public' | 'internal' | 'admin' } : {}),
    ...(defaultNetwork !== undefined ? { defaultNetwork } : {}),
    ...(defaultSubnet !== undefined ? { defaultSubnet } : {}),
    ...(serviceCidrs !== undefined ? { serviceCidrs } : {}),
    ...(securityGroups !== undefined ? { securityGroups } : {}),
    ...poolFlagsOf(p),
    ...withOutput,
    scope,
  };
}

/** --pool-min / --pool-max / --pool-batch: in range, min ≤ max when both are given. */
function poolFlagsOf(p: StrictFlags): { pool?: PoolFlags } {
  const pool: PoolFlags = {};
  const min = one(p, 'pool-min');
  const max = one(p, 'pool-max');
  const batch = one(p, 'pool-batch');
  if (min !== undefined) pool.min = intValue('pool-min', min, 0, POOL_LIMITS.max);
  if (max !== undefined) pool.max = intValue('pool-max', max, 0, POOL_LIMITS.max);
  if (batch !== undefined) pool.batch = intValue('pool-batch', batch, 1, POOL_LIMITS.batch);
  if (pool.min !== undefined && pool.max !== undefined && pool.max > 0 && pool.min > pool.max)
    throw invalid(`--pool-min ${pool.min} is more than --pool-max ${pool.max}`);
  return Object.keys(pool).length > 0 ? { pool } : {};
}

/** `10.96.0.0/12[,fd00:10:96::/112]`: canonical CIDRs, at most one per family. */
function serviceCidrList(text: string): string[] {
  const out: Cidr[] = [];
  for (const part of text.split(',').map((s) => s.trim())) {
    const c = parseCidr(part);
    if (!c.ok) throw invalidValue('service-cidr', part, c.reason);
    if (out.some((o) => o.family === c.value.family))
      throw invalidValue(
        'service-cidr',
        text,
        `gives two IPv${c.value.family} ranges; give at most one per family`,
      );
    out.push(c.value);
  }
  return out.map((c) => c.cidr);
}

/** An http(s) URL without user info; the value is not echoed (it could hold a password). */
function checkAuthUrl(text: string): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('invalid argument for "--auth-url" flag: not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalid('invalid argument for "--auth-url" flag: must be an http or https URL');
  if (url.username || url.password)
    throw invalid('invalid argument for "--auth-url" flag: must not contain credentials');
}
