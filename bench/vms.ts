/**
 * Nested mode in the benchmark: one VM on each lab node (the hypervisors), as lab/nested.ts makes
 * them: a netns with its own OVS whose NIC is a Neutron trunk parent port, bound to the node as
 * Nova binds a VM's port, and in it the `nnet` plugin with `plugDriver: vlan` and a node agent of
 * its own. Pods in a VM are trunk subports; a pod's packets cross the VM's OVS and then the
 * hypervisor's, both in user space here. Everything is recorded, so teardown() removes it.
 */
import { join } from 'node:path';
import { startVmNode } from '../lab/nested.ts';
import { stateRecorder } from '../lab/nodes.ts';
import type { TestAgent } from '../test/support/agent.ts';
import { BENCH_DIR, type Bench, installRuntime, PREFIX, type Runtime, startNodeAgent } from './cluster.ts';

export interface BenchVm {
  name: string;
  /** The lab node it runs on. */
  hypervisor: string;
  trunkId: string;
  runtime: Runtime;
  agent: TestAgent;
}

export async function startVms(b: Bench, log: (l: string) => void): Promise<[BenchVm, BenchVm]> {
  const vms: BenchVm[] = [];
  for (const [i, hv] of b.nodes.entries()) {
    const name = `${PREFIX}-vm${i + 1}`;
    const port = await b.admin.ports.create({
      networkId: b.network.id,
      name: `${b.cluster}-${name}`,
      hostId: hv.name,
      deviceOwner: 'compute:nova',
      deviceId: `${b.cluster}-${name}`,
    });
    b.record.update((d) => void d.ports.push(port.id));
    const trunk = await b.admin.trunks.create({ portId: port.id, name: `${b.cluster}-${name}-trunk` });
    b.record.update((d) => void d.trunks.push(trunk.id));
    const ovs = await startVmNode({
      name,
      prefix: PREFIX,
      dir: join(BENCH_DIR, name),
      record: stateRecorder(b.state),
      hv: hv.ovs,
      port: { id: port.id, mac: port.macAddress },
      mtu: b.network.mtu ?? 1442,
    });
    const runtime = installRuntime(
      b,
      { name, netns: ovs.netnsName, ovsdbSocket: `unix:${ovs.ovsdbSocket}` },
      'vlan',
      { nested: { nic: 'eth0', vlanDevice: 'ovs' } },
    );
    const agent = await startNodeAgent(b.state, runtime);
    log(
      `${name} on ${hv.name}: NIC = trunk parent port ${port.id} (trunk ${trunk.id}), nnet-agent pid ${agent.pid}`,
    );
    vms.push({ name, hypervisor: hv.name, trunkId: trunk.id, runtime, agent });
  }
  return vms as [BenchVm, BenchVm];
}
