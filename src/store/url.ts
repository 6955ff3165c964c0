/**
 * Store URLs:
 *   sqlite:/var/lib/nnet/nnet.db            (also sqlite:///var/lib/nnet/nnet.db)
 *   etcd:http://10.0.0.1:2379,http://10.0.0.2:2379?prefix=/nnet
 *   etcd:https://10.0.0.1:2379,https://10.0.0.2:2379?prefix=/nnet
 *       &cacert=/etc/nnet/etcd/ca.pem&cert=/etc/nnet/etcd/client.pem&key=/etc/nnet/etcd/client-key.pem
 *       &user=nnet&password-file=/etc/nnet/etcd/password         (or &token-file=/etc/nnet/etcd/token)
 *
 * A store URL is printed in messages and sits in every node's conflist: it names files, never
 * holds a secret. The password (or token) is read from a file only root may read (0600 or
 * stricter); userinfo in an endpoint and a `password=` parameter are refused without repeating them.
 */
import { isAbsolute, normalize } from 'node:path';
import { InputError } from '../errors/index.ts';

export const DEFAULT_STORE_URL = 'sqlite:/var/lib/nnet/nnet.db';
export const DEFAULT_ETCD_PREFIX = '/nnet';

/** Client TLS towards etcd: the CA that signed the members' certificates, a client certificate. */
export interface EtcdTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** etcd authentication: a user whose password is in a 0600 file, or a token (e.g. a JWT) in one. */
export type EtcdAuth = { user: string; passwordFile: string } | { tokenFile: string };

export type StoreLocation =
  | { backend: 'sqlite'; path: string }
  | { backend: 'etcd'; endpoints: string[]; prefix: string; tls?: EtcdTls; auth?: EtcdAuth };

/** The URL up to its query: a parameter's value is never echoed. */
const shown = (url: string) => {
  const q = url.indexOf('?');
  return q < 0 ? url : `${url.slice(0, q)}?…`;
};
const invalid = (url: string, why: string) =>
  new InputError('invalid-config', `invalid store URL "${shown(url)}": ${why}`);

const FILE_PARAMS = {
  cacert: 'caFile',
  cert: 'certFile',
  key: 'keyFile',
  'password-file': 'passwordFile',
  'token-file': 'tokenFile',
} as const;
const KNOWN = new Set(['prefix', 'user', ...Object.keys(FILE_PARAMS)]);

export function parseStoreUrl(url: string): StoreLocation {
  if (url.startsWith('sqlite:')) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (!isAbsolute(path)) throw invalid(url, 'the database path must be absolute');
    if (path.endsWith('/')) throw invalid(url, 'the database path names a directory');
    return { backend: 'sqlite', path: normalize(path) };
  }
  if (url.startsWith('etcd:')) return parseEtcdUrl(url);
  throw invalid(url, 'expected sqlite:/path/to/file.db or etcd:http://host:2379[,…][?prefix=/nnet]');
}

function parseEtcdUrl(url: string): StoreLocation {
  // Userinfo would put a password into every message that names the endpoint.
  if (/\/\/[^/?]*@/.test(url)) throw invalid('etcd:…', 'credentials in etcd endpoint URLs are not supported');
  let rest = url.slice('etcd:'.length);
  const q = rest.indexOf('?');
  const params = new URLSearchParams(q >= 0 ? rest.slice(q + 1) : '');
  if (q >= 0) rest = rest.slice(0, q);
  const endpoints = rest.split(',').map((e) => parseEndpoint(url, e));
  const out: StoreLocation & { backend: 'etcd' } = {
    backend: 'etcd',
    endpoints,
    prefix: DEFAULT_ETCD_PREFIX,
  };
  for (const k of params.keys()) {
    if (k === 'password' || k === 'token')
      throw invalid(url, `a store URL cannot carry a ${k}: give ${k}-file=/path (a file of mode 0600)`);
    if (!KNOWN.has(k)) throw invalid(url, `unknown parameter "${k.slice(0, 32)}"`);
    if (params.getAll(k).length > 1) throw invalid(url, `parameter "${k}" is given twice`);
  }
  const p = params.get('prefix');
  if (p !== null) {
    if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(p))
      throw invalid(url, 'prefix must look like /name or /a/b (letters, digits, . _ ~ -), no trailing slash');
    out.prefix = p;
  }
  const files: Partial<Record<(typeof FILE_PARAMS)[keyof typeof FILE_PARAMS], string>> = {};
  for (const [param, field] of Object.entries(FILE_PARAMS)) {
    const v = params.get(param);
    if (v === null) continue;
    if (!isAbsolute(v) || v.includes('\0')) throw invalid(url, `${param} must be an absolute file path`);
    files[field] = normalize(v);
  }
  const tls: EtcdTls = {};
  if (files.caFile) tls.caFile = files.caFile;
  if (files.certFile) tls.certFile = files.certFile;
  if (files.keyFile) tls.keyFile = files.keyFile;
  if (tls.keyFile && !tls.certFile) throw invalid(url, 'key is given without cert');
  if (tls.certFile && !tls.keyFile) throw invalid(url, 'cert is given without key');
  if (Object.keys(tls).length > 0) {
    if (!endpoints.every((e) => e.startsWith('https:')))
      throw invalid(url, 'cacert, cert and key need https:// endpoints');
    out.tls = tls;
  }
  const user = params.get('user');
  if (user !== null && !/^[^\s:]{1,128}$/.test(user))
    throw invalid(url, 'user must be an etcd user name (no whitespace or ":")');
  if (files.tokenFile && (user !== null || files.passwordFile))
    throw invalid(url, 'token-file excludes user and password-file');
  if (files.tokenFile) out.auth = { tokenFile: files.tokenFile };
  else if (user !== null || files.passwordFile) {
    if (user === null) throw invalid(url, 'password-file is given without user');
    if (!files.passwordFile) throw invalid(url, `user "${user}" is given without password-file`);
    out.auth = { user, passwordFile: files.passwordFile };
  }
  return out;
}

function parseEndpoint(url: string, e: string): string {
  let u: URL;
  try {
    u = new URL(e);
  } catch {
    throw invalid(url, `endpoint "${e}" is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw invalid(url, `endpoint "${e}" must be http:// or https://`);
  if (u.pathname !== '/' || u.search || u.hash)
    throw invalid(url, `endpoint "${e}" must be scheme://host:port only`);
  return u.origin;
}
