/**
 * `get pools`: each node's warm port pools as its nnet-agent last recorded them in the store
 * (ready, in use, target, max, why refill stopped), with networks named as kubenetctl names
 * them. Read from the store only: no Neutron call, no agent to reach.
 */
import type { CommandContext, CommandOf } from '../context.ts';
import type { ExitStatus } from '../kubectl.ts';
import { type PoolView, poolPrinter } from '../printers.ts';
import { pick, printListing } from './common.ts';

export async function getPools(command: CommandOf<'get'>, ctx: CommandContext): Promise<ExitStatus> {
  const session = ctx.session(command.scope);
  const store = await session.existingStore();
  const cluster = store ? await session.configuredCluster() : undefined;
  const views: PoolView[] = [];
  if (store && cluster) {
    const networks = new Map(
      (await store.resources.list({ kind: 'network', cluster: cluster.name })).map((r) => [r.id, r.name]),
    );
    for (const n of await store.nodes.list({ cluster: cluster.name }))
      for (const p of n.pools ?? [])
        views.push({
          node: n.name,
          network: networks.get(p.networkId) || p.networkId,
          networkId: p.networkId,
          subnets: p.subnetIds,
          securityGroups: p.securityGroupIds,
          ready: p.ready,
          inUse: p.inUse,
          target: p.target,
          max: p.max,
          ...(p.refillError ? { refillError: p.refillError } : {}),
          createdAt: p.createdAt,
          updatedAt: p.updatedAt,
        });
  }
  // Names are nodes: `get pools node1` shows node1's pools.
  const listing = pick(views, command.names, (v) => [v.node]);
  return printListing(ctx, poolPrinter, listing, { format: command.output, names: command.names });
}
