/**
 * kubectl's output formats, as pure functions of the data: tables with uppercase headers and
 * kubectl's column padding, `-o wide`, `-o json` (the object, or a List), `-o yaml`, `-o name`,
 * describe blocks and AGE. Handlers print what these return.
 */
import { stringify } from 'yaml';
import type { Noun, OutputFormat } from './types.ts';

/**
 * Rows laid out as kubectl's tabwriter does (minimum cell width 6, padding 3, the last column
 * unpadded). Every line ends with a newline.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, col) => Math.max(6, ...all.map((row) => [...(row[col] ?? '')].length + 3)));
  return all
    .map((row) =>
      row
        .map((cell, col) =>
          col === row.length - 1 ? cell : cell + ' '.repeat(widths[col]! - [...cell].length),
        )
        .join(''),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** kubectl's AGE (apimachinery's HumanDuration): 45s, 3m20s, 42m, 5h3m, 20h, 3d4h, 120d, 2y30d. */
export function formatAge(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${hours / 24}d` : `${Math.trunc(hours / 24)}d${hours % 24}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 365 * 2) return `${days}d`;
  if (hours < 24 * 365 * 8)
    return days % 365 === 0 ? `${days / 365}y` : `${Math.trunc(days / 365)}y${days % 365}d`;
  return `${Math.trunc(days / 365)}y`;
}

/** The AGE cell of a creation time (ISO 8601), or <unknown>. */
export function ageOf(createdAt: string | undefined, now: Date): string {
  if (createdAt === undefined) return '<unknown>';
  const t = Date.parse(createdAt);
  return Number.isNaN(t) ? '<unknown>' : formatAge(now.getTime() - t);
}

/** `network/pods`: kubectl's -o name. */
export function formatName(noun: Noun, name: string): string {
  return `${noun}/${name}`;
}

/** `network/pods created`: what kubectl prints after create/delete/configure. */
export function formatActionResult(noun: Noun, name: string, action: string): string {
  return `${formatName(noun, name)} ${action}\n`;
}

/** kubectl's message (on stderr) when a list is empty. */
export function noResourcesMessage(namespace?: string): string {
  return namespace === undefined ? 'No resources found\n' : `No resources found in ${namespace} namespace.\n`;
}

/** A List as kubectl prints it for -o json/yaml of several objects. */
export function asList(items: readonly unknown[]): Record<string, unknown> {
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}

/** kubectl's -o json: four-space indentation and a final newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 4)}\n`;
}

/** kubectl's -o yaml: keys sorted, sequences not indented under their key. */
export function formatYaml(value: unknown): string {
  return stringify(value, { indentSeq: false, sortMapEntries: true, lineWidth: 0 });
}

export interface Column<T> {
  header: string;
  cell: (item: T, now: Date) => string;
  /** Shown only with -o wide. */
  wide?: boolean;
}

export interface ResourcePrinter<T> {
  noun: Noun;
  columns: readonly Column<T>[];
  name: (item: T) => string;
  /** The object printed by -o json/yaml. */
  toObject: (item: T) => Record<string, unknown>;
}

export interface PrintOptions<T> {
  format: OutputFormat;
  now: Date;
  /** One object was asked for by name: -o json/yaml print it alone, not in a List. */
  single?: boolean;
  /** Prefix a NAMESPACE column (get -A). */
  namespaceColumn?: (item: T) => string;
}

/** What `get` prints on stdout for these items in this format. */
export function printResources<T>(
  printer: ResourcePrinter<T>,
  items: readonly T[],
  options: PrintOptions<T>,
): string {
  switch (options.format) {
    case 'name':
      return items.map((item) => `${formatName(printer.noun, printer.name(item))}\n`).join('');
    case 'json':
    case 'yaml': {
      const objects = items.map(printer.toObject);
      const value = options.single && objects.length === 1 ? objects[0] : asList(objects);
      return options.format === 'json' ? formatJson(value) : formatYaml(value);
    }
    default: {
      if (items.length === 0) return '';
      const wide = options.format === 'wide';
      const columns = printer.columns.filter((c) => wide || !c.wide);
      const nsColumn = options.namespaceColumn;
      const headers = [...(nsColumn ? ['NAMESPACE'] : []), ...columns.map((c) => c.header)];
      const rows = items.map((item) => [
        ...(nsColumn ? [nsColumn(item)] : []),
        ...columns.map((c) => c.cell(item, options.now) || '<none>'),
      ]);
      return formatTable(headers, rows);
    }
  }
}

/**
 * A describe block: `Label:  value` lines aligned like kubectl's describe; nested entries are
 * indented by two spaces; list values go one per line under their label.
 */
export type DescribeEntry = [label: string, value: string | readonly string[] | readonly DescribeEntry[]];

export function formatDescribe(entries: readonly DescribeEntry[], indent = 0): string {
  const width = Math.max(0, ...entries.map(([label]) => label.length + 1)) + 2;
  const pad = ' '.repeat(indent);
  let out = '';
  for (const [label, value] of entries) {
    const head = `${pad}${label}:`;
    if (typeof value === 'string') {
      out += `${head}${' '.repeat(width - label.length - 1)}${value === '' ? '<none>' : value}\n`;
    } else if (value.length === 0) {
      out += `${head}${' '.repeat(width - label.length - 1)}<none>\n`;
    } else if (typeof value[0] === 'string') {
      const [first, ...rest] = value as readonly string[];
      out += `${head}${' '.repeat(width - label.length - 1)}${first}\n`;
      for (const line of rest) out += `${pad}${' '.repeat(width)}${line}\n`;
    } else {
      out += `${head}\n${formatDescribe(value as readonly DescribeEntry[], indent + 2)}`;
    }
  }
  return out;
}
