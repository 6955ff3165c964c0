/** STATUS: can this node serve ADD? Every dependency is asked; each one that fails is named. */
import { listPorts, usesKernelVlan } from '../plug/index.ts';
import type { NodeContext } from './context.ts';
import { isNested, trunkOf } from './nested.ts';

export async function readiness(ctx: NodeContext): Promise<string[]> {
  const problems: string[] = [];
  const ask = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      problems.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  await Promise.all([
    ask('store', async () => {
      if (!(await ctx.store.clusters.get(ctx.cluster)))
        throw new Error(`cluster "${ctx.cluster}" is not registered`);
    }),
    ask('Keystone/Neutron', async () => (await ctx.neutron()).networks.list({}, { limit: 1 })),
    // A nested node with 802.1Q devices has no OVS; it needs its NIC and its trunk.
    usesKernelVlan(ctx.plug) ? undefined : ask(`OVS bridge ${ctx.plug.bridge}`, () => listPorts(ctx.plug)),
    isNested(ctx) ? ask('node trunk', async () => trunkOf(ctx, await ctx.neutron())) : undefined,
  ]);
  return problems;
}
