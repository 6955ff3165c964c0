/** Neutron networks and subnets named by id, name or (subnets) CIDR, as users write them. */
import ipaddr from 'ipaddr.js';
import { InputError } from '../errors/index.ts';
import type { Network, NeutronClient, Subnet } from '../neutron/index.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function isCidr(s: string): boolean {
  try {
    ipaddr.parseCIDR(s);
    return true;
  } catch {
    return false;
  }
}

function one<T extends { id: string }>(found: T[], what: string): T {
  if (found.length === 1) return found[0]!;
  if (found.length === 0) throw new InputError('invalid-config', `${what} not found`);
  throw new InputError(
    'invalid-config',
    `${what} is ambiguous: ${found.map((f) => f.id).join(', ')}; use its id`,
  );
}

export async function findNetwork(neutron: NeutronClient, ref: string): Promise<Network> {
  if (UUID.test(ref)) return neutron.networks.get(ref);
  return one(await neutron.networks.list({ name: ref }), `network "${ref}"`);
}

/** A subnet by id, name or CIDR (optionally within one network). */
export async function findSubnet(neutron: NeutronClient, ref: string, networkId?: string): Promise<Subnet> {
  if (UUID.test(ref)) return neutron.subnets.get(ref);
  const scope = networkId ? { networkId } : {};
  const found = isCidr(ref)
    ? (await neutron.subnets.list(scope)).filter((s) => s.cidr === ipaddr.parseCIDR(ref).toString())
    : await neutron.subnets.list({ ...scope, name: ref });
  return one(found, `subnet "${ref}"${networkId ? ` on network ${networkId}` : ''}`);
}
