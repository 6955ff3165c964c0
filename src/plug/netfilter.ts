/**
 * The node's own netfilter for N-Net: one nftables table, `inet nnet`, in the node's netns.
 *
 * Pods send Service traffic (to the Service CIDR) to the node's port on their network; kube-proxy
 * (iptables or nftables mode, as it ships) DNATs it to an endpoint pod, which may be on another
 * node. Without a source NAT the endpoint would answer the client pod directly, bypassing the
 * conntrack entry that must undo the DNAT, and the client would drop the reply. So every flow the
 * node DNATed (kube-proxy's Services, portmap's hostPorts) that leaves through one of N-Net's node
 * ports is masqueraded to that port's address: replies come back through the node.
 *
 * The table is N-Net's alone: ensure writes it whole in one transaction, remove deletes it.
 */
import { PlugError } from '../errors/index.ts';
import { type NetnsPath, netnsLabel, nsExec, setSysctls } from './netns.ts';

export const NFT_TABLE = 'nnet';
/** The node ports' device names: nnh + 12 hex digits (src/plug/spec.ts deviceNames().host). */
const NODE_PORT_GLOB = 'nnh*';

/** The nft script that (re)writes N-Net's table, whatever was in it before. */
export function nodeNatScript(): string {
  return [
    `add table inet ${NFT_TABLE}`,
    `add chain inet ${NFT_TABLE} postrouting { type nat hook postrouting priority srcnat + 10 ; policy accept ; }`,
    `flush chain inet ${NFT_TABLE} postrouting`,
    `add rule inet ${NFT_TABLE} postrouting ct status dnat oifname "${NODE_PORT_GLOB}" masquerade comment "N-Net: DNATed flows into pod networks return through this node"`,
    '',
  ].join('\n');
}

/**
 * Makes the node a router between its ports: forwarding on, no ICMP redirects (a Service flow
 * between two pods of one subnet leaves by the port it came in on; a redirect would tell the
 * client to skip the node), and the masquerade table.
 */
export async function ensureNodeRouting(ns: NetnsPath, o: { ipv6: boolean }): Promise<void> {
  await setSysctls(ns, {
    'net.ipv4.ip_forward': '1',
    'net.ipv4.conf.all.send_redirects': '0',
    'net.ipv4.conf.default.send_redirects': '0',
    ...(o.ipv6 ? { 'net.ipv6.conf.all.forwarding': '1' } : {}),
  });
  const r = await nsExec(ns, ['nft', '-f', '-'], nodeNatScript());
  if (r.code !== 0)
    throw new PlugError(
      'link',
      `writing nftables table inet ${NFT_TABLE} in ${netnsLabel(ns)}: ${r.stderr.trim()}`,
    );
}

/** Whether N-Net's table is there with its masquerade rule. */
export async function nodeRoutingInPlace(ns: NetnsPath): Promise<boolean> {
  const r = await nsExec(ns, ['nft', 'list', 'table', 'inet', NFT_TABLE]);
  return r.code === 0 && /ct status dnat oifname "nnh\*" masquerade/.test(r.stdout);
}

/** Deletes N-Net's table (success when it is not there). Sysctls are left as they are. */
export async function removeNodeRouting(ns: NetnsPath): Promise<void> {
  const r = await nsExec(ns, ['nft', 'delete', 'table', 'inet', NFT_TABLE]);
  if (r.code !== 0 && !/No such file or directory|does not exist/.test(r.stderr))
    throw new PlugError(
      'link',
      `deleting nftables table inet ${NFT_TABLE} in ${netnsLabel(ns)}: ${r.stderr.trim()}`,
    );
}
