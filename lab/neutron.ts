/**
 * The lab's Neutron resources, found by the tag N-Net puts on everything it creates for a cluster
 * (`nnet-cluster=<cluster>`; the node-access address group, which cannot be tagged, through the
 * security group that refers to it), not by what the state file remembers: `down` deletes them, and says
 * what it could not delete, why, and the command that would remove the cause. Something on a lab
 * network that the lab did not make (a VM's port, another router's interface, a subnet) is never
 * deleted: it keeps its network (and subnet) alive, and the report names it. Resources that carry
 * one of the lab's names without its tag were made by someone else; they would make the next
 * `lab up` fail, so they are reported too, and left alone.
 */
import { createSession, loadCredentials } from '../src/identity/index.ts';
import { createNeutronClient, type NeutronClient, type Port, type Subnet } from '../src/neutron/index.ts';
import { legacyNodesGroupName } from '../src/resources/index.ts';
import type { Leftover } from './state.ts';

export type { Leftover };

export interface LabNeutron {
  cluster: string;
  /** The tag on the security groups the lab makes as a user would (experiment 4). */
  groupTag: string;
  /** The names the lab gives its networks, subnets, routers and security groups. */
  names: { network: string[]; subnet: string[]; router: string[]; securityGroup: string[] };
  /** How a person runs the OpenStack CLI against this cloud (printed in the fixes). */
  openstack: string;
}

export interface NeutronCleanup {
  deleted: string[];
  left: Leftover[];
}

export function adminNeutron(cloudsYaml: string, cloud: string, cacheDir: string): NeutronClient {
  const session = createSession(loadCredentials({ file: cloudsYaml, cloud, env: {} }), { cacheDir });
  return createNeutronClient(session);
}

const ROUTER_OWNERS = [
  'network:router_interface',
  'network:router_interface_distributed',
  'network:ha_router_replicated_interface',
];
/** Ports Neutron makes and removes with their network (DHCP, OVN's metadata port). */
const isServicePort = (p: Port) =>
  p.deviceOwner.startsWith('network:dhcp') || p.deviceOwner === 'network:distributed';
const label = (kind: string, r: { name: string; id: string }) =>
  `${kind} ${r.name ? `${r.name} (${r.id})` : r.id}`;
const ips = (p: Port) => p.fixedIps.map((f) => f.ipAddress).join(', ');

export async function removeLabNeutron(neutron: NeutronClient, lab: LabNeutron): Promise<NeutronCleanup> {
  const out: NeutronCleanup = { deleted: [], left: [] };
  const tags = [`nnet-cluster=${lab.cluster}`];
  // The nested lab's VM ports (lab/nested.ts) carry the lab's own tag, as a user's ports would.
  // Their trunks go first: Neutron deletes neither a trunk's parent port nor a subport.
  const vmPorts = await neutron.ports.list({ tags: [lab.groupTag] });
  for (const p of vmPorts)
    for (const t of await neutron.trunks.list({ portId: p.id })) {
      if (t.subPorts.length > 0)
        await neutron.trunks.removeSubports(
          t.id,
          t.subPorts.map((x) => x.portId),
        );
      await neutron.trunks.ensureDeleted(t.id);
      out.deleted.push(label('trunk', t));
    }
  for (const p of [...(await neutron.ports.list({ tags })), ...vmPorts]) {
    await neutron.ports.ensureDeleted(p.id);
    out.deleted.push(label('port', p));
  }
  for (const r of await neutron.routers.list({ tags })) {
    for (const p of await neutron.ports.list({ deviceId: r.id }))
      if (ROUTER_OWNERS.includes(p.deviceOwner))
        await neutron.routers.removeInterface(r.id, { portId: p.id });
    await neutron.routers.ensureDeleted(r.id);
    out.deleted.push(label('router', r));
  }
  const subnets = await neutron.subnets.list({ tags });
  for (const n of await neutron.networks.list({ tags })) {
    const mine = subnets.filter((s) => s.networkId === n.id);
    const blockers = await blockersOn(neutron, n.id, lab);
    if (blockers.length === 0) {
      await neutron.networks.ensureDeleted(n.id); // with its subnets
      out.deleted.push(label('network', n), ...mine.map((s) => label('subnet', s)));
      continue;
    }
    const kept = mine.filter((s) => blockers.some((b) => b.subnetIds.includes(s.id)));
    for (const s of mine.filter((x) => !kept.includes(x))) {
      await neutron.subnets.ensureDeleted(s.id);
      out.deleted.push(label('subnet', s));
    }
    const what = [
      label('network', n),
      ...kept.map((s) => `subnet ${s.name || s.id} (${s.id}, ${s.cidr})`),
    ].join(' and ');
    for (const b of blockers) out.left.push({ what, why: b.why, fix: b.fix });
  }
  await removeNodeAccess(neutron, lab, out);
  out.left.push(...(await squatters(neutron, lab)));
  return out;
}

/**
 * The cluster's node-access group (src/resources/node-ports.ts), which the first ADD on a node
 * makes (tagged as the cluster's), and an older N-Net's address group (no tags in Neutron: found
 * by its name `nnet-<cluster>-nodes`). They go after the ports that carry them.
 */
async function removeNodeAccess(neutron: NeutronClient, lab: LabNeutron, out: NeutronCleanup): Promise<void> {
  const groups = [
    ...(await neutron.securityGroups.list({ tags: [`nnet-cluster=${lab.cluster}`] })),
    ...(await neutron.securityGroups.list({ tags: [lab.groupTag] })),
  ];
  for (const sg of groups) {
    await neutron.securityGroups.ensureDeleted(sg.id);
    out.deleted.push(label('security group', sg));
  }
  for (const ag of await neutron.addressGroups.list({ name: legacyNodesGroupName(lab.cluster) })) {
    await neutron.addressGroups.ensureDeleted(ag.id);
    out.deleted.push(`address group ${ag.id}`);
  }
}

interface Blocker {
  subnetIds: string[];
  why: string;
  fix: string;
}

/** What keeps a lab network from being deleted once the lab's own ports and routers are gone. */
async function blockersOn(neutron: NeutronClient, networkId: string, lab: LabNeutron): Promise<Blocker[]> {
  const out: Blocker[] = [];
  const tag = `nnet-cluster=${lab.cluster}`;
  for (const p of await neutron.ports.list({ networkId })) {
    if (isServicePort(p)) continue;
    const subnetIds = p.fixedIps.map((f) => f.subnetId);
    if (ROUTER_OWNERS.includes(p.deviceOwner)) {
      const router = await neutron.routers.get(p.deviceId).catch(() => undefined);
      const r = router ? label('router', router) : `router ${p.deviceId}`;
      out.push({
        subnetIds,
        why: `${r}, which the lab did not make, has an interface on it (${ips(p)})`,
        fix: subnetIds.map((s) => `${lab.openstack} router remove subnet ${p.deviceId} ${s}`).join('; '),
      });
      continue;
    }
    const owner = p.deviceOwner ? `device_owner "${p.deviceOwner}"` : 'no device_owner';
    out.push({
      subnetIds,
      why: `${label('port', p)} (${owner}${p.fixedIps.length ? `, IP ${ips(p)}` : ''}) is on it; the lab did not make that port (it has no ${tag} tag), so it does not delete it`,
      fix: `${lab.openstack} port delete ${p.id}`,
    });
  }
  const foreignSubnets = (await neutron.subnets.list({ networkId })).filter(
    (s: Subnet) => !s.tags.includes(tag),
  );
  for (const s of foreignSubnets)
    out.push({
      subnetIds: [],
      why: `${label('subnet', s)} (${s.cidr}) is on it; the lab did not make that subnet, so it does not delete it`,
      fix: `${lab.openstack} subnet delete ${s.id}`,
    });
  return out;
}

/** Resources with one of the lab's names and without its tag: the next `lab up` could not create its own. */
async function squatters(neutron: NeutronClient, lab: LabNeutron): Promise<Leftover[]> {
  const tag = `nnet-cluster=${lab.cluster}`;
  const out: Leftover[] = [];
  const kinds = [
    ['network', 'network', tag, (name: string) => neutron.networks.list({ name })],
    ['subnet', 'subnet', tag, (name: string) => neutron.subnets.list({ name })],
    ['router', 'router', tag, (name: string) => neutron.routers.list({ name })],
    [
      'securityGroup',
      'security group',
      lab.groupTag,
      (name: string) => neutron.securityGroups.list({ name }),
    ],
  ] as const;
  for (const [key, kind, mine, list] of kinds)
    for (const name of lab.names[key])
      for (const r of await list(name))
        if (!r.tags.includes(mine))
          out.push({
            what: label(kind, r),
            why: `it has the lab's name but not its ${mine} tag: someone else made it, so the lab leaves it, and \`lab up\` cannot create its own ${kind} ${name}`,
            fix: `${lab.openstack} ${kind} delete ${r.id}   (if nothing needs it)`,
          });
  return out;
}
