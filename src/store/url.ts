/**
 * Store URLs:
 *   sqlite:/var/lib/nnet/nnet.db            (also sqlite:///var/lib/nnet/nnet.db)
 *   etcd:http://10.0.0.1:2379,http://10.0.0.2:2379?prefix=/nnet
 */
import { isAbsolute, normalize } from 'node:path';
import { InputError } from '../errors/index.ts';

export const DEFAULT_STORE_URL = 'sqlite:/var/lib/nnet/nnet.db';
export const DEFAULT_ETCD_PREFIX = '/nnet';

export type StoreLocation =
  | { backend: 'sqlite'; path: string }
  | { backend: 'etcd'; endpoints: string[]; prefix: string };

const invalid = (url: string, why: string) =>
  new InputError('invalid-config', `invalid store URL "${url}": ${why}`);

export function parseStoreUrl(url: string): StoreLocation {
  if (url.startsWith('sqlite:')) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (!isAbsolute(path)) throw invalid(url, 'the database path must be absolute');
    if (path.endsWith('/')) throw invalid(url, 'the database path names a directory');
    return { backend: 'sqlite', path: normalize(path) };
  }
  if (url.startsWith('etcd:')) {
    // Userinfo would put a password into every message that names the endpoint.
    if (/\/\/[^/]*@/.test(url))
      throw invalid('etcd:…', 'credentials in etcd endpoint URLs are not supported');
    let rest = url.slice('etcd:'.length);
    let prefix = DEFAULT_ETCD_PREFIX;
    const q = rest.indexOf('?');
    if (q >= 0) {
      const params = new URLSearchParams(rest.slice(q + 1));
      rest = rest.slice(0, q);
      for (const k of params.keys()) if (k !== 'prefix') throw invalid(url, `unknown parameter "${k}"`);
      const p = params.get('prefix');
      if (p !== null) {
        if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(p))
          throw invalid(
            url,
            'prefix must look like /name or /a/b (letters, digits, . _ ~ -), no trailing slash',
          );
        prefix = p;
      }
    }
    const endpoints = rest.split(',').map((e) => {
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
    });
    return { backend: 'etcd', endpoints, prefix };
  }
  throw invalid(url, 'expected sqlite:/path/to/file.db or etcd:http://host:2379[,…][?prefix=/nnet]');
}
