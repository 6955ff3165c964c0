/**
 * The plugin's verbs: each turns a parsed CNI request into a call of the network module
 * (src/network) and its answer into the spec's shape. nnet-agent builds them over its warm node
 * contexts (nodeVerbs(agent's source)); a one-shot caller can use oneShotContext.
 */
import {
  attachPod,
  checkPod,
  detachPod,
  type NodeContext,
  readiness,
  sweep,
  withNodeContext,
} from '../../network/index.ts';
import type { Attachment } from '../../store/index.ts';
import type {
  AddRequest,
  CheckRequest,
  CniResult,
  DelRequest,
  GcRequest,
  StatusRequest,
  Verbs,
} from '../index.ts';
import { attachmentResult, CniCode, mergeWithPrevResult } from '../index.ts';

/** What a verb hands to get its node's context: the config, the request's log and deadline. */
export interface NodeRequest {
  conf: AddRequest['conf'];
  log: AddRequest['log'];
  signal: AbortSignal;
}

/** Runs `fn` on the request's node context (every Neutron request bounded by its deadline). */
export type NodeContextSource = <T>(req: NodeRequest, fn: (ctx: NodeContext) => Promise<T>) => Promise<T>;

/** A context opened for this request and closed after it (no warm state). */
export const oneShotContext: NodeContextSource = (req, fn) =>
  withNodeContext(req.conf, req.log, fn, { signal: req.signal });

/** The result reports the attachment record as ADD installed it: its addresses and its routes. */
function resultOf(a: Attachment, dns: AddRequest['conf']['dns']): CniResult {
  return attachmentResult({
    ifname: a.ifname,
    mac: a.mac,
    mtu: a.mtu,
    sandbox: a.netns,
    addresses: a.ips.map((i) => ({
      ip: i.address,
      prefixLength: i.prefixLength,
      ...(i.gateway ? { gateway: i.gateway } : {}),
    })),
    routes: a.routes.map((r) => ({ dst: r.dst, ...(r.gateway ? { gw: r.gateway } : {}) })),
    ...(dns ? { dns } : {}),
  });
}

function podOf(req: AddRequest | DelRequest | CheckRequest) {
  // Without Kubernetes' CNI_ARGS the container itself stands for the pod.
  return {
    cluster: req.conf.cluster,
    namespace: req.args.podNamespace ?? 'default',
    pod: req.args.podName ?? req.containerId,
  };
}

export function nodeVerbs(onNode: NodeContextSource): Verbs {
  return {
    add: (req: AddRequest) =>
      onNode(req, async (ctx) => {
        const nics = await attachPod(ctx, {
          containerId: req.containerId,
          ifname: req.ifname,
          netns: req.netns,
          pod: podOf(req),
          podUid: req.args.podUid,
          ips: req.conf.runtimeConfig.ips.map((i) => i.ip),
          mac: req.conf.runtimeConfig.mac,
        });
        // One interface per NIC, each with its addresses and routes (eth0's first).
        return nics.map((a) => resultOf(a, req.conf.dns)).reduce((all, one) => mergeWithPrevResult(all, one));
      }),

    del: (req: DelRequest) =>
      onNode(req, (ctx) =>
        detachPod(ctx, { containerId: req.containerId, ifname: req.ifname, netns: req.netns }),
      ),

    check: (req: CheckRequest) =>
      onNode(req, async (ctx) => {
        const expected = (ifname: string) => {
          const index = req.prevResult.interfaces.findIndex(
            (i) => i.name === ifname && i.sandbox !== undefined,
          );
          return req.prevResult.ips.filter((i) => i.interface === index).map((i) => i.address);
        };
        await checkPod(ctx, { containerId: req.containerId, ifname: req.ifname, netns: req.netns }, expected);
      }),

    status: (req: StatusRequest) =>
      onNode(req, async (ctx) => {
        const problems = await readiness(ctx);
        if (problems.length === 0) return undefined;
        return { code: CniCode.PluginNotAvailable, msg: `nnet is not ready: ${problems.join('; ')}` };
      }),

    gc: (req: GcRequest) =>
      onNode(req, async (ctx) => {
        const valid = new Set(req.validAttachments.map((a) => `${a.containerId}\u0000${a.ifname}`));
        const report = await sweep(ctx, {
          wanted: (a) =>
            valid.has(`${a.containerId}\u0000${a.ifname}`) ||
            (a.via !== undefined && valid.has(`${a.containerId}\u0000${a.via}`)) ||
            (a.ifname === '' && [...valid].some((k) => k.startsWith(`${a.containerId}\u0000`))),
          graceMs: 0,
        });
        if (report.errors.length > 0) throw new Error(`GC left work undone: ${report.errors.join('; ')}`);
      }),
  };
}
