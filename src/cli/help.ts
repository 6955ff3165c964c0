/**
 * Help texts in kubectl's layout, generated from the command table so they never drift from
 * what the parser accepts.
 */
import {
  ANNOTATIONS,
  COMMANDS,
  COMMON_FLAGS,
  type CommandSpec,
  FLAGS,
  type FlagSpec,
  NOUN_PLURAL,
  NOUN_SUMMARY,
  POD_FLAGS,
} from './grammar.ts';
import type { Noun } from './types.ts';

function nounPart(row: CommandSpec, noun?: Noun): string {
  if (row.nouns.length === 0) return '';
  const words = noun ? [noun] : row.nouns;
  const plural = row.verb === 'get' || row.verb === 'describe';
  const shown = words.map((n) => (plural ? NOUN_PLURAL[n] : n));
  return shown.length === 1 ? ` ${shown[0]}` : ` (${shown.join('|')})`;
}

function argsPart(row: CommandSpec): string {
  const { name, min, max } = row.args;
  if (max === 0) return '';
  if (min === 1 && max === 1) return ` ${name}`;
  if (min === 0) return ` [${name}...]`;
  return ` ${name} [${name}...]`;
}

export function usageLine(row: CommandSpec, noun?: Noun): string {
  const required = (row.required ?? [])
    .map((f) => ` --${f} ${FLAGS[f]!.placeholder ?? f.toUpperCase()}`)
    .join('');
  return `kubenetctl ${row.verb}${nounPart(row, noun)}${argsPart(row)}${required} [options]`;
}

/** Environment variables kubenetctl reads (besides kubectl's own). */
export const CONFIG_VARIABLES: readonly (readonly [string, string])[] = [
  ['NNET_STORE', "N-Net's store URL (default sqlite:/var/lib/nnet/nnet.db)"],
  ['NNET_CLUSTER', 'The N-Net cluster (default: the only registered one)'],
  ['OS_CLOUD, OS_*', 'Your OpenStack credentials, found as the openstack CLI finds them (clouds.yaml)'],
  ['NNET_TOKEN_CACHE_DIR', 'Keystone token cache, 0700 (default ~/.cache/nnet/tokens)'],
  ['KUBECTL', 'The kubectl to run (default: kubectl in PATH)'],
];

/** The section appended to kubectl's own `--help`. */
export function networkCommandsSection(): string {
  const rows = COMMANDS.map((row) => [
    usageLine(row)
      .replace(/^kubenetctl /, '')
      .replace(/ \[options\]$/, ''),
    row.summary,
  ]);
  rows.push(['version', "Print kubenetctl's version, then kubectl's"]);
  const width = Math.max(...rows.map(([u]) => u!.length)) + 3;
  const podFlags = POD_FLAGS.map((f) => FLAGS[f]!);
  const flagWidth = Math.max(...podFlags.map((f) => f.name.length + (f.placeholder ?? '').length + 3)) + 3;
  return [
    '',
    'N-Net network commands:',
    ...rows.map(([u, s]) => `  ${u!.padEnd(width)}${s}`),
    '',
    'N-Net pod network flags (kubenetctl run POD --image=IMAGE [flags]: the IP is reserved before kubectl runs;',
    'kubenetctl delete pod POD releases it after kubectl deleted the pod):',
    ...podFlags.map((f) => `  ${`--${f.name}=${f.placeholder ?? ''}`.padEnd(flagWidth)}${f.usage}`),
    '',
    'N-Net pod annotations (kubenetctl apply|create -f FILE reserves, delete -f releases; read from Pods in files and stdin):',
    `  ${Object.keys(ANNOTATIONS).join(', ')}`,
    '  (nnet.io/ip: one IP, or an IPv4 and an IPv6 address separated by a comma: "1.2.0.100,fd00:1::100")',
    '',
    'N-Net configuration (network commands also take --store, --cluster and --os-cloud):',
    ...CONFIG_VARIABLES.map(([name, text]) => `  ${name.padEnd(24)}${text}`),
    '',
    'Use "kubenetctl <resource> --help" (e.g. "kubenetctl podnetworks --help") for what N-Net does with a resource,',
    'and "kubenetctl <command> <resource> --help" for more information about an N-Net command.',
    '',
  ].join('\n');
}

function flagDefault(spec: FlagSpec): string {
  if (spec.type === 'bool') return 'false';
  if (spec.repeatable) return '[]';
  if (spec.type === 'int') return '0';
  return "''";
}

function optionBlock(spec: FlagSpec): string {
  const names = `${spec.short ? `-${spec.short}, ` : ''}--${spec.name}`;
  const aliases = (spec.aliases ?? []).map((a) => ` (also --${a})`).join('');
  return `    ${names}=${flagDefault(spec)}:\n\t${spec.usage}${aliases}\n`;
}

/** `kubenetctl <verb> <noun> --help`. */
export function commandHelp(row: CommandSpec, noun?: Noun): string {
  const flags = [...row.flags, ...COMMON_FLAGS.filter((f) => f !== 'help')]
    .map((f) => FLAGS[f]!)
    .sort((a, b) => a.name.localeCompare(b.name));
  const outputs = (row.outputs ?? []).filter((o) => o !== 'table');
  const blocks = flags.map((spec) =>
    spec.name === 'output'
      ? optionBlock({ ...spec, usage: `Output format. One of: (${outputs.join(', ')}).` })
      : optionBlock(spec),
  );
  return [
    `${row.summary}.`,
    '',
    'Examples:',
    ...row.examples.map((e) => (e === '' ? '' : `  ${e}`)),
    '',
    'Options:',
    blocks.join('\n'),
    'Usage:',
    `  ${usageLine(row, noun)}`,
    '',
    'Use "kubenetctl options" for a list of global command-line options (applies to all commands).',
    '',
  ].join('\n');
}

/** `kubenetctl NOUN --help`: what the noun is, every command on it, their examples. */
export function nounHelp(noun: Noun): string {
  const rows = COMMANDS.filter((c) => c.nouns.includes(noun));
  const usages = rows.map((row) => [usageLine(row, noun), row.summary] as const);
  const width = Math.max(...usages.map(([u]) => u.length)) + 3;
  const examples = rows
    .filter((row) => row.nouns.length === 1)
    .flatMap((row) => ['', ...row.examples.map((e) => (e === '' ? '' : `  ${e}`))]);
  const plural = NOUN_PLURAL[noun];
  return [
    `${plural[0]!.toUpperCase()}${plural.slice(1)}: ${NOUN_SUMMARY[noun]}`,
    '',
    'Commands:',
    ...usages.map(([u, summary]) => `  ${u.padEnd(width)}${summary}`),
    ...(examples.length > 0 ? ['', 'Examples:', ...examples.slice(1)] : []),
    '',
    `Use "kubenetctl <command> ${noun} --help" for more information about a command.`,
    '',
  ].join('\n');
}

/** Help for a topic named by the parser (a row id and maybe a noun, or a noun alone). */
export function helpFor(topic: { command: string; noun?: Noun }): string {
  if (topic.command === 'noun' && topic.noun) return nounHelp(topic.noun);
  const row = COMMANDS.find((c) => c.id === topic.command);
  if (!row) throw new Error(`no help for ${topic.command}`);
  return commandHelp(row, topic.noun);
}
