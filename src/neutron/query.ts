/** Query strings for list filters, and following Neutron's `<collection>_links` pagination (pure). */

export type QueryScalar = string | number | boolean;
export type QueryValue = QueryScalar | readonly QueryScalar[] | undefined;

/** `{a: 1, id: ['x', 'y']}` → `a=1&id=x&id=y` (arrays as repeated keys; undefined left out). */
export function buildQuery(params: Record<string, QueryValue>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) q.append(k, String(item));
    else q.append(k, String(v));
  }
  return q.toString();
}

/**
 * The query string (without `?`) of the `rel: next` link of a list reply, or undefined on the last
 * page. Only the query of Neutron's href is used: its host may be what a proxy in front of Neutron
 * rewrote, while we keep talking to the endpoint we were given.
 */
export function nextPageQuery(reply: unknown, collection: string): string | undefined {
  if (!reply || typeof reply !== 'object') return undefined;
  const links = (reply as Record<string, unknown>)[`${collection}_links`];
  if (!Array.isArray(links)) return undefined;
  for (const link of links) {
    const l = link as { rel?: unknown; href?: unknown } | null;
    if (l?.rel !== 'next' || typeof l.href !== 'string') continue;
    try {
      const q = new URL(l.href, 'http://neutron.invalid').search.replace(/^\?/, '');
      return q === '' ? undefined : q;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
