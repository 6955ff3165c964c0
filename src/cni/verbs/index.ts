/**
 * The plugin's verbs: each turns a parsed CNI request into a call of the network module
 * (src/network) and its answer into the spec's shape. Loaded lazily by src/bin/nnet.ts.
 */
import { attach, checkAttachment, detach, readiness, sweep } from '../../network/index.ts';
import type { AddRequest, CheckRequest, DelRequest, GcRequest, StatusRequest, Verbs } from '../index.ts';
import { attachmentResult, CniCode } from '../index.ts';
import { withNodeContext } from './context.ts';

/** One default route per IP family that has a gateway. */
function defaultRoutes(ips: { address: string; gateway?: string }[]): { dst: string; gw: string }[] {
  const v4 = ips.find((i) => i.gateway && !i.address.includes(':'))?.gateway;
  const v6 = ips.find((i) => i.gateway?.includes(':'))?.gateway;
  return [...(v4 ? [{ dst: '0.0.0.0/0', gw: v4 }] : []), ...(v6 ? [{ dst: '::/0', gw: v6 }] : [])];
}

function podOf(req: AddRequest | DelRequest | CheckRequest) {
  // Without Kubernetes' CNI_ARGS the container itself stands for the pod.
  return {
    cluster: req.conf.cluster,
    namespace: req.args.podNamespace ?? 'default',
    pod: req.args.podName ?? req.containerId,
  };
}

export const verbs: Verbs = {
  add: (req: AddRequest) =>
    withNodeContext(req.conf, req.log, async (ctx) => {
      const a = await attach(ctx, {
        containerId: req.containerId,
        ifname: req.ifname,
        netns: req.netns,
        pod: podOf(req),
        podUid: req.args.podUid,
        ips: req.conf.runtimeConfig.ips.map((i) => i.ip),
        mac: req.conf.runtimeConfig.mac,
      });
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
        routes: defaultRoutes(a.ips),
        ...(req.conf.dns ? { dns: req.conf.dns } : {}),
      });
    }),

  del: (req: DelRequest) =>
    withNodeContext(req.conf, req.log, (ctx) =>
      detach(ctx, { containerId: req.containerId, ifname: req.ifname, netns: req.netns }),
    ),

  check: (req: CheckRequest) =>
    withNodeContext(req.conf, req.log, async (ctx) => {
      const ours = req.prevResult.interfaces.findIndex(
        (i) => i.name === req.ifname && i.sandbox !== undefined,
      );
      await checkAttachment(ctx, {
        containerId: req.containerId,
        ifname: req.ifname,
        netns: req.netns,
        expectedAddresses: req.prevResult.ips.filter((i) => i.interface === ours).map((i) => i.address),
      });
    }),

  status: (req: StatusRequest) =>
    withNodeContext(req.conf, req.log, async (ctx) => {
      const problems = await readiness(ctx);
      if (problems.length === 0) return undefined;
      return { code: CniCode.PluginNotAvailable, msg: `nnet is not ready: ${problems.join('; ')}` };
    }),

  gc: (req: GcRequest) =>
    withNodeContext(req.conf, req.log, async (ctx) => {
      const valid = new Set(req.validAttachments.map((a) => `${a.containerId}\u0000${a.ifname}`));
      const report = await sweep(ctx, {
        wanted: (a) =>
          valid.has(`${a.containerId}\u0000${a.ifname}`) ||
          (a.ifname === '' && [...valid].some((k) => k.startsWith(`${a.containerId}\u0000`))),
        graceMs: 0,
      });
      if (report.errors.length > 0) throw new Error(`GC left work undone: ${report.errors.join('; ')}`);
    }),
};
