/**
 * NetworkCommand kind → handler. Handlers are imported only when their command runs, so a plain
 * kubectl passthrough loads none of them.
 */
import type { CommandContext, Handler } from './context.ts';
import type { ExitStatus } from './kubectl.ts';
import { interruptedStatus } from './signals.ts';
import type { NetworkCommand, NetworkCommandKind } from './types.ts';

type HandlerTable = { [K in NetworkCommandKind]: () => Promise<Handler<K>> };

const resources = () => import('./handlers/resources.ts');
const pod = () => import('./handlers/pod.ts');

export const HANDLERS: HandlerTable = {
  get: () => resources().then((m) => m.get),
  describe: () => resources().then((m) => m.describe),
  delete: () => resources().then((m) => m.remove),
  'create-network': () => resources().then((m) => m.createNetwork),
  'create-subnet': () => resources().then((m) => m.createSubnet),
  'create-router': () => resources().then((m) => m.createRouter),
  'create-cluster': () => resources().then((m) => m.createCluster),
  'create-podnetwork': () => resources().then((m) => m.createPodNetwork),
  'set-cluster': () => resources().then((m) => m.setCluster),
  'set-podnetwork': () => resources().then((m) => m.setPodNetwork),
  'connect-router': () => resources().then((m) => m.connectRouter),
  'disconnect-router': () => resources().then((m) => m.disconnectRouter),
  gc: () => resources().then((m) => m.gc),
  version: () => import('./handlers/version.ts').then((m) => m.version),
  help: () => import('./handlers/help.ts').then((m) => m.help),
  pod: () => pod().then((m) => m.runPod),
  'release-pod': () => pod().then((m) => m.releasePods),
  'pod-manifests': () => import('./handlers/manifests.ts').then((m) => m.podManifests),
};

/** Commands that only read: a signal ends them at once. The others change Neutron or the store. */
const READ_ONLY = new Set<NetworkCommandKind>(['get', 'describe', 'help', 'version']);

export async function dispatch(command: NetworkCommand, ctx: CommandContext): Promise<ExitStatus> {
  const load = HANDLERS[command.kind] as () => Promise<Handler<NetworkCommandKind>>;
  const handler = (await load()) as (command: NetworkCommand, ctx: CommandContext) => Promise<ExitStatus>;
  if (READ_ONLY.has(command.kind)) return handler(command, ctx);
  // Finish (or undo) N-Net's work, then exit as the signal would have made us exit.
  const guard = ctx.deferSignals();
  try {
    const status = await handler(command, ctx);
    const signal = guard.received();
    return signal && status.signal === undefined ? interruptedStatus(signal) : status;
  } finally {
    guard.release();
  }
}
