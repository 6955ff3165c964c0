/** STATUS: can this node serve ADD? Every dependency is asked; each one that fails is named. */
import { listPorts } from '../plug/index.ts';
import type { NodeContext } from './context.ts';

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
    ask(`OVS bridge ${ctx.plug.bridge}`, () => listPorts(ctx.plug)),
  ]);
  return problems;
}
