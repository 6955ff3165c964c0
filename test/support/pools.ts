/**
 * What a test node's warm pools hold, from every side: Neutron (the ports tagged nnet-pool for the
 * node, and who they say holds them), OVS (free pool ports, pods' NICs), the store (the agent's
 * record of each pool, the attachments), and the agent's metrics. And the one leak check pool
 * tests need: every N-Net port of the test network is free in a pool, held by a recorded pod, or
 * the node's own.
 */
import type { Port } from '../../src/neutron/index.ts';
import { listPoolPorts, listPorts } from '../../src/plug/index.ts';
import { DEVICE_OWNER, POOL_TAG, poolDeviceId } from '../../src/resources/index.ts';
import type { PoolRecord } from '../../src/store/index.ts';
import type { TestCluster } from './cluster.ts';

export interface PoolView {
  /** Pool ports in Neutron (tagged for this node). */
  neutron: Port[];
  /** Of those, the ones whose device_id says the pool holds them. */
  free: Port[];
  /** Free pool ports on the bridge (tap in the node's netns), by iface-id. */
  ovsFree: string[];
  /** The agent's record (one entry per pool). */
  records: PoolRecord[];
}

export async function poolView(c: TestCluster): Promise<PoolView> {
  const neutron = await c.neutron.ports.list({ tags: [POOL_TAG, `nnet-node=${c.name}`] });
  const ovsFree = (await listPoolPorts(c.node.plugSettings())).map((p) => p.ifaceId ?? '');
  const records = (await c.store.nodes.get({ cluster: c.name, name: c.name }))?.pools ?? [];
  return {
    neutron,
    free: neutron.filter((p) => p.deviceId === poolDeviceId(c.name)),
    ovsFree,
    records,
  };
}

/** Sets the cluster's pool settings in its store record (what kubenetctl set cluster does). */
export async function setPoolSettings(
  c: Pick<TestCluster, 'store' | 'name'>,
  pool: { min: number; max: number; batch: number } | undefined,
): Promise<void> {
  await c.store.clusters.update(c.name, (cur) => {
    if (!cur) return undefined;
    const { createdAt: _, pool: __, ...rest } = cur;
    return pool ? { ...rest, pool } : rest;
  });
}

/**
 * What is left that should not be: N-Net ports of the test network that are neither free in the
 * pool (Neutron and OVS agreeing) nor held by a recorded attachment; pods' OVS NICs without a
 * record; free OVS pool ports Neutron does not have.
 */
export async function poolLeaks(c: TestCluster): Promise<string[]> {
  const ports = await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: DEVICE_OWNER });
  const rows = await c.store.attachments.list({ node: c.name });
  const recorded = new Set(rows.map((r) => r.portId));
  const ovsFree = new Set((await listPoolPorts(c.node.plugSettings())).map((p) => p.ifaceId));
  const nics = await listPorts(c.node.plugSettings());
  const leaks: string[] = [];
  for (const p of ports) {
    if (recorded.has(p.id)) continue;
    const free = p.deviceId === poolDeviceId(c.name) && (p.tags ?? []).includes(POOL_TAG);
    if (!free) leaks.push(`Neutron port ${p.id} (device ${p.deviceId}) is nobody's`);
    else if (!ovsFree.has(p.id)) leaks.push(`free pool port ${p.id} is not plugged`);
  }
  for (const n of nics)
    if (!n.ifaceId || !recorded.has(n.ifaceId)) leaks.push(`OVS NIC ${n.name} without a record`);
  const inNeutron = new Set(ports.map((p) => p.id));
  for (const id of ovsFree)
    if (id && !inNeutron.has(id)) leaks.push(`OVS pool port of ${id}, which Neutron lacks`);
  return leaks;
}
