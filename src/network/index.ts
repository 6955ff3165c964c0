/**
 * The paper's network module as one flow, shared by the CNI plugin, the node agent and kubenetctl:
 * attach (ADD), detach (DEL), checkAttachment (CHECK), readiness (STATUS) and sweep (GC/reconcile).
 *
 *   const a = await attach(ctx, { containerId, ifname: 'eth0', netns, pod: { cluster, namespace, pod } });
 *   await detach(ctx, { containerId, ifname: 'eth0' });
 */
export { type AttachRequest, attach, defaultPoolKey } from './attach.ts';
export { type CheckRequest, checkAttachment } from './check.ts';
export type { NodeContext } from './context.ts';
export { type DetachRequest, detach } from './detach.ts';
export { type AttachmentKey, type AttachmentLocks, createAttachmentLocks } from './locks.ts';
export { trunkOf } from './nested.ts';
export { type NicRecord, plugSpecOf } from './nic.ts';
export {
  type NodeHandle,
  type NodeSettings,
  type OpenNodeOptions,
  openNodeContext,
  withNodeContext,
} from './node.ts';
export {
  ensureNodePort,
  nodeAccess,
  plugNodePort,
  refreshNodeRoutes,
  serviceCidrs,
  serviceOverlap,
  serviceRoutes,
} from './node-port.ts';
export { type LostNodeRule, lostNodes, type NodeRelease, releaseNode, reportNode } from './node-release.ts';
export { attachPod, checkPod, detachPod } from './pod.ts';
export {
  type GiveBack,
  type PooledPort,
  type PoolKey,
  type PortPools,
  parsePoolKey,
  poolKeyOfPort,
  poolKeyText,
} from './pools.ts';
export { readiness } from './status.ts';
export { type SweepOptions, type SweepReport, sweep } from './sweep.ts';
