/**
 * gc: deletes the cluster's reserved ports that no pod config refers to, the leftovers of a
 * kubenetctl killed between reserving a port and recording the config (SIGKILL, power loss), and
 * those killed between the port's POST and the PUT of its tags (found by their description).
 * Only unbound ports older than a minute: a younger one may belong to a kubenetctl still at work,
 * a bound one carries a running pod.
 */
import type { Port } from '../../neutron/index.ts';
import {
  type ClusterScope,
  clusterTag,
  DEVICE_OWNER,
  describePort,
  isUntaggedReservation,
  RESERVED_TAG,
  reservationDescription,
} from '../../resources/index.ts';
import type { PodNetworkConfig } from '../../store/index.ts';
import type { CommandContext, CommandOf } from '../context.ts';
import type { ExitStatus } from '../kubectl.ts';
import { reservedPortIds } from '../podnet.ts';
import { clusterScope } from './common.ts';

export const GC_MIN_AGE_MS = 60_000;

/**
 * The reserved ports of `cluster` gc deletes (tagged ones, and untagged ones its description names):
 * no NIC of any config refers to them, unbound and held by no device, older than `minAgeMs`.
 */
export function orphanedReservations(
  ports: readonly Port[],
  configs: readonly Pick<PodNetworkConfig, 'nics'>[],
  cluster: string,
  now: number,
  minAgeMs = GC_MIN_AGE_MS,
): Port[] {
  const referenced = new Set(configs.flatMap(reservedPortIds));
  const isReservation = (p: Port) =>
    (p.tags.includes(RESERVED_TAG) && p.tags.includes(clusterTag(cluster))) ||
    isUntaggedReservation(p, cluster);
  return ports.filter(
    (p) =>
      isReservation(p) &&
      !referenced.has(p.id) &&
      !p.hostId &&
      (!isUntaggedReservation(p, cluster) || !p.deviceId) &&
      p.createdAt !== undefined &&
      now - Date.parse(p.createdAt) >= minAgeMs,
  );
}

/** The cluster's reservations in Neutron: tagged, and untagged ones named by their description. */
async function clusterReservations(scope: ClusterScope): Promise<Port[]> {
  const [tagged, untagged] = await Promise.all([
    scope.neutron.ports.list({ tags: [RESERVED_TAG, clusterTag(scope.cluster.name)] }),
    scope.neutron.ports.list({
      deviceOwner: DEVICE_OWNER,
      description: reservationDescription(scope.cluster.name),
    }),
  ]);
  const byId = new Map([...tagged, ...untagged].map((p) => [p.id, p]));
  return [...byId.values()];
}

function why(port: Port, cluster: string): string {
  return isUntaggedReservation(port, cluster)
    ? 'an untagged reservation (its kubenetctl was stopped before tagging it), no pod config refers to it'
    : 'reserved, no pod config refers to it';
}

/**
 * The node sweep shared with CNI GC and nnet-agent's reconcile (src/network sweep), on the node
 * whose plugin config is given.
 */
async function sweepNode(file: string, ctx: CommandContext): Promise<void> {
  const [{ loadNodeConfig }, { sweep, withNodeContext }, { createLogger }] = await Promise.all([
    import('../../agent/index.ts'),
    import('../../network/index.ts'),
    import('../../log/index.ts'),
  ]);
  const conf = await loadNodeConfig(file);
  const log = createLogger({ file: conf.logFile, component: 'kubenetctl-gc' });
  const report = await withNodeContext(conf, log, (node) => sweep(node));
  const lines = [
    ...report.attachmentsReleased.map((a) => `released attachment ${a}`),
    ...report.ovsPortsRemoved.map((p) => `removed OVS port ${p}`),
    ...report.neutronPortsReleased.map((p) => `released Neutron port ${p}`),
  ];
  for (const l of lines) ctx.io.stdout(`node ${conf.nodeName}: ${l}\n`);
  if (lines.length === 0) ctx.io.stderr(`node ${conf.nodeName}: nothing to collect\n`);
  if (report.errors.length > 0) throw new Error(`node sweep left work undone: ${report.errors.join('; ')}`);
}

/** `gc --node NAME`: what N-Net holds for a node that left (src/network releaseNode). */
async function releaseLeftNode(scope: ClusterScope, node: string, ctx: CommandContext): Promise<void> {
  const { releaseNode } = await import('../../network/index.ts');
  const r = await releaseNode(scope.store, scope.neutron, scope.cluster.name, node);
  const lines = [
    ...r.podPortsDeleted.map((p) => `deleted pod port ${p}`),
    ...r.reservationsUnbound.map((p) => `unbound reservation ${p} (kept for the pod's next start)`),
    ...r.nodePortsReleased.map((p) => `released the node's port ${p}`),
    ...(r.recordsDeleted > 0 ? [`deleted ${r.recordsDeleted} record(s)`] : []),
  ];
  for (const l of lines) ctx.io.stdout(`node ${node}: ${l}\n`);
  if (lines.length === 0) ctx.io.stderr(`node ${node}: nothing to release\n`);
}

export async function gc(command: CommandOf<'gc'>, ctx: CommandContext): Promise<ExitStatus> {
  if (command.cniConfig !== undefined) await sweepNode(command.cniConfig, ctx);
  const scope = await clusterScope(ctx, command.scope);
  if (command.node !== undefined) await releaseLeftNode(scope, command.node, ctx);
  const [configs, ports] = await Promise.all([
    scope.store.podConfigs.list({ cluster: scope.cluster.name }),
    clusterReservations(scope),
  ]);
  const minAgeMs = command.minAgeSeconds === undefined ? GC_MIN_AGE_MS : command.minAgeSeconds * 1000;
  const orphans = orphanedReservations(ports, configs, scope.cluster.name, ctx.now().getTime(), minAgeMs);
  for (const port of orphans) {
    if (!command.dryRun) await scope.neutron.ports.ensureDeleted(port.id);
    ctx.io.stdout(
      `${command.dryRun ? 'would delete' : 'deleted'} ${describePort(port)}: ${why(port, scope.cluster.name)}\n`,
    );
  }
  const { lostNodes } = await import('../../network/index.ts');
  const lost = await lostNodes(scope.store, scope.neutron, scope.cluster.name, { now: ctx.now().getTime() });
  for (const node of lost)
    if (command.dryRun)
      ctx.io.stdout(`would release node ${node}: its agent is silent and its ports are down\n`);
    else await releaseLeftNode(scope, node, ctx);
  if (orphans.length === 0 && lost.length === 0) ctx.io.stderr('Nothing to collect\n');
  return { code: 0 };
}
