/**
 * Typed Keystone v3 credentials, and the pure rules that turn a clouds.yaml cloud entry or a set of
 * OS_* variables into them the way the openstack CLI (openstacksdk + keystoneauth) does: top-level
 * keys override `auth:` keys, `tenant_*` means `project_*`, `domain_id`/`domain_name` fill in the
 * user and project domains of a project-scoped login, `default_domain_*` fills what is still
 * missing, `endpoint_type` means `interface`, `regions[0]` is the default region.
 */
import { homedir } from 'node:os';
import { IdentityError, InputError } from '../errors/index.ts';
import type { TlsSettings } from '../http/index.ts';

export type DomainRef = { id: string } | { name: string };
export type UserRef = { id: string } | { name: string; domain: DomainRef };
export type ProjectRef = { id: string } | { name: string; domain: DomainRef };
export type Scope = { project: ProjectRef } | { domain: DomainRef } | { system: 'all' };
export type Interface = 'public' | 'internal' | 'admin';

interface CommonCredentials {
  /** Keystone v3 URL, normalised to end in `/v3` (no trailing slash). */
  authUrl: string;
  regionName: string | undefined;
  interface: Interface;
  /** Where these came from, for messages: `clouds.yaml /etc/openstack/clouds.yaml cloud "x"`. */
  source: string;
  /** TLS towards Keystone and the services of its catalog; absent = system CAs, verified. */
  tls?: TlsSettings | undefined;
}
export interface PasswordCredentials extends CommonCredentials {
  method: 'password';
  user: UserRef;
  password: string;
  /** Undefined: Keystone scopes the token to the user's default project, if any. */
  scope: Scope | undefined;
}
export interface ApplicationCredentialCredentials extends CommonCredentials {
  method: 'application-credential';
  /** An application credential is always scoped to the project it was created in. */
  applicationCredential: { id: string; secret: string } | { name: string; secret: string; user: UserRef };
}
export type Credentials = PasswordCredentials | ApplicationCredentialCredentials;

/** Flat, normalised config keys (clouds.yaml keys / OS_* names lower-cased without the prefix). */
export type FlatConfig = Record<string, string>;

/** Variables that select where to read from rather than describe credentials. */
const SELECTORS = new Set(['cloud', 'client_config_file', 'client_secure_file', 'cloud_name']);
// Names that are not credentials at all (oslotest / CI noise the SDK also ignores).
const IGNORED_PREFIXES = ['test', 'std', 'log'];

const ALIASES: Record<string, string> = {
  tenant_id: 'project_id',
  tenant_name: 'project_name',
  auth_plugin: 'auth_type',
  endpoint_type: 'interface',
  os_interface: 'interface',
};

function normKey(k: string): string {
  const key = k.toLowerCase().replaceAll('-', '_');
  return ALIASES[key] ?? key;
}

function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** OS_* variables → flat config (selectors such as OS_CLOUD left out). */
export function flattenEnv(env: Record<string, string | undefined>): FlatConfig {
  const out: FlatConfig = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('OS_') || value === undefined || value === '') continue;
    const key = normKey(name.slice(3));
    if (IGNORED_PREFIXES.some((p) => key.startsWith(p)) || SELECTORS.has(key)) continue;
    out[key] = value;
  }
  return out;
}

/** Whether flat config says anything about credentials (OS_REGION_NAME alone does not, as in the SDK). */
export function describesCredentials(cfg: FlatConfig): boolean {
  return Object.keys(cfg).some((k) => k !== 'region_name');
}

/**
 * A clouds.yaml cloud entry (`{auth: {...}, region_name, ...}`), a flat record of the same keys, or
 * a record of OS_* names → flat config. Top-level keys win over `auth:` keys, as in openstacksdk.
 */
export function flattenCloud(entry: unknown, source: string): FlatConfig {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
    throw new InputError('invalid-config', `${source}: a cloud entry must be a mapping`);
  const out: FlatConfig = {};
  const record = entry as Record<string, unknown>;
  const auth = record.auth;
  if (auth !== undefined) {
    if (auth === null || typeof auth !== 'object' || Array.isArray(auth))
      throw new InputError('invalid-config', `${source}: "auth" must be a mapping`);
    for (const [k, v] of Object.entries(auth)) {
      const s = scalar(v);
      if (s !== undefined && s !== '') out[normKey(k)] = s;
    }
  }
  for (const [k, v] of Object.entries(record)) {
    if (k === 'auth') continue;
    if (k === 'regions' && Array.isArray(v)) {
      const first = v[0];
      const name =
        typeof first === 'string' ? first : scalar((first as { name?: unknown } | undefined)?.name);
      if (name && out.region_name === undefined) out.region_name = name;
      continue;
    }
    const key = k.startsWith('OS_') ? normKey(k.slice(3)) : normKey(k);
    const s = scalar(v);
    if (s !== undefined && s !== '' && !SELECTORS.has(key)) out[key] = s;
  }
  return out;
}

function domainRef(cfg: FlatConfig, prefix: string): DomainRef | undefined {
  const id = cfg[`${prefix}_id`];
  if (id) return { id };
  const name = cfg[`${prefix}_name`];
  if (name) return { name };
  return undefined;
}

/** auth_url → `<base>/v3`. keystoneauth discovers the version; we only speak v3, so we append it. */
export function normaliseAuthUrl(raw: string, source: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError('invalid-config', `${source}: auth_url "${raw}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InputError('invalid-config', `${source}: auth_url "${raw}" is not an http(s) URL`);
  let path = url.pathname.replace(/\/+$/, '');
  if (/\/v2\.0$/.test(path))
    throw new InputError(
      'invalid-config',
      `${source}: auth_url "${raw}" is Keystone v2.0; only v3 is supported`,
    );
  if (!/\/v3$/.test(path)) path = `${path}/v3`;
  return `${url.origin}${path}`;
}

export function normaliseInterface(raw: string | undefined, source: string): Interface {
  const v = (raw ?? 'public').toLowerCase().replace(/url$/, '');
  if (v === 'public' || v === 'internal' || v === 'admin') return v;
  throw new InputError(
    'invalid-config',
    `${source}: interface "${raw}" is not one of public, internal, admin`,
  );
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

function flag(cfg: FlatConfig, key: string, source: string): boolean | undefined {
  const raw = cfg[key];
  if (raw === undefined) return undefined;
  const v = raw.toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new InputError(
    'invalid-config',
    `${source}: ${key} (OS_${key.toUpperCase()}) must be true or false (got ${JSON.stringify(raw.slice(0, 16))})`,
  );
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? `${homedir()}${path.slice(1)}` : path;
}

/**
 * TLS settings the way openstacksdk reads them (CloudRegion.get_requests_verify_args): `insecure`
 * wins over everything and turns verification off; else `verify: false` turns it off; `cacert`
 * is the CA bundle when verifying (ignored, as in the SDK, when not); `cert` and `key` are the
 * client certificate and its key. OS_CACERT, OS_CERT, OS_KEY, OS_INSECURE are the same keys.
 */
export function tlsFromFlat(cfg: FlatConfig, source: string): TlsSettings | undefined {
  const insecure = flag(cfg, 'insecure', source);
  const verify = insecure === true ? false : (flag(cfg, 'verify', source) ?? true);
  const tls: TlsSettings = { verify };
  if (verify && cfg.cacert) tls.caFile = expandHome(cfg.cacert);
  if (cfg.cert) tls.certFile = expandHome(cfg.cert);
  if (cfg.key) {
    if (!cfg.cert)
      throw new InputError('invalid-config', `${source}: key (OS_KEY) is given without cert (OS_CERT)`);
    tls.keyFile = expandHome(cfg.key);
  }
  return tls.verify && !tls.caFile && !tls.certFile ? undefined : tls;
}

/**
 * Flat config → typed Credentials. Every missing piece is listed in one IdentityError
 * ('no-credentials'); no value of any key is ever quoted except names and URLs.
 */
export function credentialsFromFlat(input: FlatConfig, source: string): Credentials {
  const cfg: FlatConfig = { ...input };
  const projectScoped = Boolean(cfg.project_id || cfg.project_name);
  // openstacksdk `_handle_domain_id`: with a project, domain_* is shorthand for both domains.
  for (const kind of ['id', 'name'] as const) {
    const shorthand = cfg[`domain_${kind}`];
    if (!shorthand || !projectScoped) continue;
    cfg[`user_domain_${kind}`] ??= shorthand;
    cfg[`project_domain_${kind}`] ??= shorthand;
    delete cfg[`domain_${kind}`];
  }
  const missing: string[] = [];
  const authType = (cfg.auth_type ?? inferAuthType(cfg)).toLowerCase();
  if (!cfg.auth_url) missing.push('auth_url (OS_AUTH_URL)');
  const regionName = cfg.region_name || undefined;
  const iface = normaliseInterface(cfg.interface, source);
  const defaultDomain = domainRef(cfg, 'default_domain');
  const tls = tlsFromFlat(cfg, source);

  const userRef = (required: boolean): UserRef | undefined => {
    if (cfg.user_id) return { id: cfg.user_id };
    if (cfg.username) {
      const domain = domainRef(cfg, 'user_domain') ?? defaultDomain;
      if (domain) return { name: cfg.username, domain };
      missing.push(
        `user domain for user "${cfg.username}" (user_domain_name/user_domain_id, OS_USER_DOMAIN_NAME/OS_USER_DOMAIN_ID)`,
      );
      return undefined;
    }
    if (required) missing.push('username or user_id (OS_USERNAME/OS_USER_ID)');
    return undefined;
  };

  if (authType === 'password' || authType === 'v3password') {
    const user = userRef(true);
    if (!cfg.password) missing.push('password (OS_PASSWORD)');
    let scope: Scope | undefined;
    if (cfg.project_id) scope = { project: { id: cfg.project_id } };
    else if (cfg.project_name) {
      const domain = domainRef(cfg, 'project_domain') ?? defaultDomain;
      if (domain) scope = { project: { name: cfg.project_name, domain } };
      else
        missing.push(
          `project domain for project "${cfg.project_name}" (project_domain_name/project_domain_id, OS_PROJECT_DOMAIN_NAME/OS_PROJECT_DOMAIN_ID)`,
        );
    } else if (cfg.domain_id || cfg.domain_name) scope = { domain: domainRef(cfg, 'domain')! };
    else if (cfg.system_scope) {
      if (cfg.system_scope !== 'all')
        throw new InputError('invalid-config', `${source}: system_scope must be "all"`);
      scope = { system: 'all' };
    }
    if (missing.length > 0) throw noCredentials(missing, source);
    return {
      method: 'password',
      authUrl: normaliseAuthUrl(cfg.auth_url!, source),
      user: user!,
      password: cfg.password!,
      scope,
      regionName,
      interface: iface,
      source,
      ...(tls ? { tls } : {}),
    };
  }
  if (authType === 'v3applicationcredential') {
    const secret = cfg.application_credential_secret;
    if (!secret) missing.push('application_credential_secret (OS_APPLICATION_CREDENTIAL_SECRET)');
    let applicationCredential: ApplicationCredentialCredentials['applicationCredential'] | undefined;
    if (cfg.application_credential_id)
      applicationCredential = { id: cfg.application_credential_id, secret: secret ?? '' };
    else if (cfg.application_credential_name) {
      // A credential looked up by name needs its owner.
      const user = userRef(true);
      if (user) applicationCredential = { name: cfg.application_credential_name, secret: secret ?? '', user };
    } else
      missing.push(
        'application_credential_id or application_credential_name (OS_APPLICATION_CREDENTIAL_ID/OS_APPLICATION_CREDENTIAL_NAME)',
      );
    if (missing.length > 0) throw noCredentials(missing, source);
    return {
      method: 'application-credential',
      authUrl: normaliseAuthUrl(cfg.auth_url!, source),
      applicationCredential: applicationCredential!,
      regionName,
      interface: iface,
      source,
      ...(tls ? { tls } : {}),
    };
  }
  throw new InputError(
    'invalid-config',
    `${source}: auth_type "${authType}" is not supported (use password or v3applicationcredential)`,
  );
}

// The CLI defaults to `password`; a lone application-credential secret with no password is a
// clear enough sign, and failing on it would only hide what the user meant.
function inferAuthType(cfg: FlatConfig): string {
  if (!cfg.password && cfg.application_credential_secret) return 'v3applicationcredential';
  return 'password';
}

function noCredentials(missing: string[], source: string): IdentityError {
  return new IdentityError(
    'no-credentials',
    `incomplete OpenStack credentials in ${source}: missing ${missing.join('; ')}`,
  );
}

/** A one-line description with no secret: `user "admin" (domain id default), project "admin" …`. */
export function describeCredentials(c: Credentials): string {
  const dom = (d: DomainRef) => ('id' in d ? `domain id ${d.id}` : `domain "${d.name}"`);
  const user = (u: UserRef) => ('id' in u ? `user id ${u.id}` : `user "${u.name}" (${dom(u.domain)})`);
  if (c.method === 'application-credential') {
    const ac = c.applicationCredential;
    return 'id' in ac
      ? `application credential ${ac.id}`
      : `application credential "${ac.name}" of ${user(ac.user)}`;
  }
  let scope = '';
  if (c.scope && 'project' in c.scope) {
    const p = c.scope.project;
    scope = 'id' in p ? `, project id ${p.id}` : `, project "${p.name}" (${dom(p.domain)})`;
  } else if (c.scope && 'domain' in c.scope) scope = `, ${dom(c.scope.domain)} scope`;
  else if (c.scope) scope = ', system scope';
  return `${user(c.user)}${scope}`;
}

/**
 * Credentials → a clouds.yaml cloud entry (holds the secret). The inverse of credentialsFromObject,
 * for keeping credentials in a store or writing a clouds.yaml.
 */
export function toCloudEntry(c: Credentials): {
  auth_type: 'password' | 'v3applicationcredential';
  auth: Record<string, string>;
  region_name?: string;
  interface: Interface;
  verify?: false;
  cacert?: string;
  cert?: string;
  key?: string;
} {
  const auth: Record<string, string> = { auth_url: c.authUrl };
  const putDomain = (prefix: string, d: DomainRef) => {
    if ('id' in d) auth[`${prefix}_id`] = d.id;
    else auth[`${prefix}_name`] = d.name;
  };
  const putUser = (u: UserRef) => {
    if ('id' in u) auth.user_id = u.id;
    else {
      auth.username = u.name;
      putDomain('user_domain', u.domain);
    }
  };
  if (c.method === 'application-credential') {
    const ac = c.applicationCredential;
    if ('id' in ac) auth.application_credential_id = ac.id;
    else {
      auth.application_credential_name = ac.name;
      putUser(ac.user);
    }
    auth.application_credential_secret = ac.secret;
  } else {
    putUser(c.user);
    auth.password = c.password;
    const s = c.scope;
    if (s && 'project' in s) {
      if ('id' in s.project) auth.project_id = s.project.id;
      else {
        auth.project_name = s.project.name;
        putDomain('project_domain', s.project.domain);
      }
    } else if (s && 'domain' in s) putDomain('domain', s.domain);
    else if (s) auth.system_scope = 'all';
  }
  const t = c.tls;
  return {
    auth_type: c.method === 'password' ? 'password' : 'v3applicationcredential',
    auth,
    ...(c.regionName ? { region_name: c.regionName } : {}),
    interface: c.interface,
    ...(t && !t.verify ? { verify: false } : {}),
    ...(t?.caFile ? { cacert: t.caFile } : {}),
    ...(t?.certFile ? { cert: t.certFile } : {}),
    ...(t?.keyFile ? { key: t.keyFile } : {}),
  };
}
