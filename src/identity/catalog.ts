/** The Keystone v3 service catalog and endpoint lookup (pure). */
import { IdentityError } from '../errors/index.ts';
import type { Interface } from './credentials.ts';

export interface CatalogEndpoint {
  url: string;
  interface: string;
  /** region_id (or the older `region`) of the endpoint. */
  region: string | undefined;
}
export interface CatalogService {
  type: string;
  name: string | undefined;
  endpoints: CatalogEndpoint[];
}
export type Catalog = CatalogService[];

export interface EndpointOptions {
  /** Defaults to the credentials' interface (OS_INTERFACE, default public). */
  interface?: Interface;
  /** Defaults to the credentials' region (OS_REGION_NAME); undefined accepts any region. */
  region?: string | undefined;
}

/** The catalog part of a token body (`token.catalog`), validated loosely: unknown entries are dropped. */
export function parseCatalog(raw: unknown): Catalog {
  if (!Array.isArray(raw)) return [];
  const out: Catalog = [];
  for (const s of raw) {
    if (!s || typeof s !== 'object' || typeof (s as { type?: unknown }).type !== 'string') continue;
    const svc = s as { type: string; name?: unknown; endpoints?: unknown };
    const endpoints: CatalogEndpoint[] = [];
    for (const e of Array.isArray(svc.endpoints) ? svc.endpoints : []) {
      const ep = e as { url?: unknown; interface?: unknown; region_id?: unknown; region?: unknown };
      if (typeof ep?.url !== 'string' || typeof ep.interface !== 'string') continue;
      const region =
        typeof ep.region_id === 'string'
          ? ep.region_id
          : typeof ep.region === 'string'
            ? ep.region
            : undefined;
      endpoints.push({ url: ep.url, interface: ep.interface, region });
    }
    out.push({ type: svc.type, name: typeof svc.name === 'string' ? svc.name : undefined, endpoints });
  }
  return out;
}

/**
 * The URL (no trailing slash) of `serviceType` at `interface` in `region`.
 *
 *   findEndpoint(catalog, 'network', { interface: 'public', region: 'RegionOne' }) // 'http://…:9696'
 */
export function findEndpoint(
  catalog: Catalog,
  serviceType: string,
  opts: { interface: Interface; region: string | undefined },
): string {
  const services = catalog.filter((s) => s.type === serviceType);
  for (const svc of services) {
    const ep = svc.endpoints.find(
      (e) => e.interface === opts.interface && (opts.region === undefined || e.region === opts.region),
    );
    if (ep) return ep.url.replace(/\/+$/, '');
  }
  const where = `interface ${opts.interface}${opts.region ? `, region ${opts.region}` : ''}`;
  const have =
    services.length === 0
      ? `the catalog has ${catalog.map((s) => s.type).join(', ') || 'no services'}`
      : `it has ${services
          .flatMap((s) => s.endpoints)
          .map((e) => `${e.interface}@${e.region ?? '-'}`)
          .join(', ')}`;
  return noEndpoint(`no ${serviceType} endpoint for ${where} in the Keystone catalog: ${have}`);
}

function noEndpoint(message: string): never {
  throw new IdentityError('no-endpoint', message);
}
