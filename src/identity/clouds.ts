/**
 * Finding credentials the way the openstack CLI does: a clouds.yaml cloud (OS_CLOUD or an explicit
 * name), with secure.yaml merged over it and OS_* variables overriding it, or the OS_* variables
 * alone. A credentials file given explicitly may be a clouds.yaml/json or an openrc (`export OS_…`).
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { IdentityError, InputError } from '../errors/index.ts';
import {
  type Credentials,
  credentialsFromFlat,
  describesCredentials,
  type FlatConfig,
  flattenCloud,
  flattenEnv,
} from './credentials.ts';

export interface LoadCredentialsOptions {
  /** Cloud name in clouds.yaml; defaults to OS_CLOUD. */
  cloud?: string | undefined;
  /**
   * A credentials file to read instead of searching: clouds.yaml/.yml/.json (with `cloud`, or its
   * only cloud) or an openrc file of `export OS_…=…` lines.
   */
  file?: string | undefined;
  /** Defaults to process.env. Pass {} to ignore the environment. */
  env?: Record<string, string | undefined>;
  /** Defaults to process.cwd() and os.homedir(). */
  cwd?: string;
  home?: string;
  /** Defaults to ['/etc/openstack']. */
  siteDirs?: string[];
}

const SUFFIXES = ['.yaml', '.yml', '.json'];

/** The files searched for clouds.yaml (first existing wins), in the CLI's order. */
export function configSearchPath(
  base: 'clouds' | 'secure',
  opts: Pick<LoadCredentialsOptions, 'env' | 'cwd' | 'home' | 'siteDirs'> = {},
): string[] {
  const env = opts.env ?? process.env;
  const dirs = [
    opts.cwd ?? process.cwd(),
    join(opts.home ?? homedir(), '.config', 'openstack'),
    ...(opts.siteDirs ?? ['/etc/openstack']),
  ];
  const files = dirs.flatMap((d) => SUFFIXES.map((s) => join(d, base + s)));
  const override = base === 'clouds' ? env.OS_CLIENT_CONFIG_FILE : env.OS_CLIENT_SECURE_FILE;
  return override ? [override, ...files] : files;
}

interface LoadedFile {
  path: string;
  data: unknown;
}

/**
 * JSON or YAML text → value. The yaml package reports warnings (an unresolved tag…) through
 * process.emitWarning, quoting the line, which may hold the secret, on stderr: logLevel 'error'
 * silences them; errors are thrown and their text never repeated (see parseErrorPosition).
 */
function parseText(path: string, text: string): unknown {
  return path.endsWith('.json')
    ? JSON.parse(text)
    : parseYaml(text, { logLevel: 'error', prettyErrors: false });
}

/** First readable, parseable file of the list; unreadable or broken ones are skipped (and reported). */
function loadFirst(paths: string[], skipped: string[]): LoadedFile | undefined {
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') skipped.push(`${path} (${code ?? 'unreadable'})`);
      continue;
    }
    try {
      return { path, data: parseText(path, text) };
    } catch {
      skipped.push(`${path} (not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'})`);
    }
  }
  return undefined;
}

function cloudsOf(data: unknown): Record<string, unknown> {
  const clouds = isPlainObject(data) ? data.clouds : undefined;
  return clouds && typeof clouds === 'object' && !Array.isArray(clouds)
    ? (clouds as Record<string, unknown>)
    : {};
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Deep merge of b over a (secure.yaml over clouds.yaml). */
export function mergeDeep(a: unknown, b: unknown): unknown {
  if (!isPlainObject(a) || !isPlainObject(b)) return b === undefined ? a : b;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = mergeDeep(a[k], v);
  return out;
}

/** `export OS_X=value` lines (openrc) → env record. Handles simple '…' and "…" quoting. */
export function parseOpenrc(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?(OS_[A-Z0-9_]+)=(.*?)\s*$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

/**
 * Credentials from an explicit object: a clouds.yaml cloud entry (`{auth: {...}, region_name}`), a
 * flat record of the same keys, or a record of OS_* variables. For credentials kept in N-Net's store.
 */
export function credentialsFromObject(entry: unknown, source = 'explicit credentials'): Credentials {
  return credentialsFromFlat(flattenCloud(entry, source), source);
}

/** Credentials from OS_* variables only. */
export function credentialsFromEnv(
  env: Record<string, string | undefined> = process.env,
  source = 'OS_* environment variables',
): Credentials {
  const flat = flattenEnv(env);
  if (!describesCredentials(flat))
    throw new IdentityError(
      'no-credentials',
      `no OpenStack credentials in ${source}: OS_AUTH_URL, OS_USERNAME, OS_PASSWORD… are unset`,
    );
  return credentialsFromFlat(flat, source);
}

/**
 * Credentials the way `openstack` finds them: OS_CLOUD (or `cloud`) selects a cloud in the first
 * clouds.yaml found ($OS_CLIENT_CONFIG_FILE, ./, ~/.config/openstack/, /etc/openstack/), with the
 * first secure.yaml merged over it and any OS_* variables overriding it; without a cloud name,
 * the OS_* variables, else the only cloud of the file.
 *
 *   const creds = loadCredentials();                       // like `openstack` in this shell
 *   const creds = loadCredentials({ file: '/etc/nnet/clouds.yaml', cloud: 'prod', env: {} });
 */
export function loadCredentials(opts: LoadCredentialsOptions = {}): Credentials {
  const env = opts.env ?? process.env;
  const envFlat = flattenEnv(env);
  const cloudName = opts.cloud ?? (env.OS_CLOUD || undefined);
  if (opts.file) return fromExplicitFile(opts.file, cloudName, envFlat);
  if (!cloudName && describesCredentials(envFlat))
    return credentialsFromFlat(envFlat, 'OS_* environment variables');

  const skipped: string[] = [];
  const searched = configSearchPath('clouds', { ...opts, env });
  const file = loadFirst(searched, skipped);
  const secure = loadFirst(configSearchPath('secure', { ...opts, env }), skipped);
  const clouds = cloudsOf(mergeDeep(file?.data, secure?.data));
  const path = file?.path ?? secure?.path ?? '(none)';
  const note = `searched ${searched.join(', ')}${skipped.length > 0 ? `; skipped ${skipped.join(', ')}` : ''}`;
  const name = cloudName ?? onlyName(clouds);
  if (name === undefined) {
    throw new IdentityError(
      'no-credentials',
      file
        ? `no OpenStack cloud selected: ${path} has ${listNames(clouds)}; set OS_CLOUD`
        : `no OpenStack credentials: set OS_CLOUD with a clouds.yaml or OS_AUTH_URL, OS_USERNAME, OS_PASSWORD… (${note})`,
    );
  }
  if (!(name in clouds))
    throw new IdentityError(
      'no-credentials',
      `OpenStack cloud "${name}" not found in ${file ? `${path} (has ${listNames(clouds)})` : 'any clouds.yaml'} (${note})`,
    );
  return fromEntry(clouds, name, path, envFlat);
}

function fromExplicitFile(path: string, cloudName: string | undefined, envFlat: FlatConfig): Credentials {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new IdentityError(
      'no-credentials',
      `cannot read credentials file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
  if (!/\.(ya?ml|json)$/i.test(path) && /^\s*(export\s+)?OS_[A-Z_]+=/m.test(text)) {
    const source = `openrc ${path}`;
    const flat = { ...flattenEnv(parseOpenrc(text)), ...envFlat };
    if (!describesCredentials(flat))
      throw new IdentityError('no-credentials', `no OS_* credentials in ${source}`);
    return credentialsFromFlat(flat, source);
  }
  let data: unknown;
  try {
    data = parseText(path, text);
  } catch (e) {
    // Never the parser's message: it quotes the text around the error, which may be the secret.
    const at = parseErrorPosition(e, text);
    throw new InputError(
      'decode',
      `credentials file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}${at ? ` (at ${at})` : ''}`,
    );
  }
  const clouds = cloudsOf(data);
  const name = cloudName ?? onlyName(clouds);
  if (name === undefined || !(name in clouds))
    throw new IdentityError(
      'no-credentials',
      name === undefined
        ? `no OpenStack cloud selected in ${path}: it has ${listNames(clouds)}`
        : `OpenStack cloud "${name}" not found in ${path} (has ${listNames(clouds)})`,
    );
  return fromEntry(clouds, name, path, envFlat);
}

/** `line 3, column 12` of a JSON or YAML parse error, without any of the text. */
export function parseErrorPosition(e: unknown, text: string): string | undefined {
  const yamlOffset = (e as { pos?: unknown }).pos;
  const jsonOffset = /position (\d+)/.exec(e instanceof Error ? e.message : '')?.[1];
  const offset = Array.isArray(yamlOffset) ? Number(yamlOffset[0]) : Number(jsonOffset ?? Number.NaN);
  if (!Number.isInteger(offset) || offset < 0) return undefined;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
}

function onlyName(clouds: Record<string, unknown>): string | undefined {
  const names = Object.keys(clouds);
  return names.length === 1 ? names[0] : undefined;
}

function listNames(clouds: Record<string, unknown>): string {
  const names = Object.keys(clouds);
  return names.length === 0 ? 'no clouds' : names.map((n) => `"${n}"`).join(', ');
}

function fromEntry(
  clouds: Record<string, unknown>,
  name: string,
  path: string,
  envOverrides: FlatConfig,
): Credentials {
  const source = `clouds.yaml ${path} cloud "${name}"`;
  const flat = flattenCloud(clouds[name], source);
  // The CLI's --os-* options default to the OS_* variables and override the cloud's values.
  return credentialsFromFlat({ ...flat, ...envOverrides }, source);
}
