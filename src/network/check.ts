/** CHECK: the pod's interface, its OVS port and its Neutron port are all as ADD left them. */

import { setTimeout as sleep } from 'node:timers/promises';
import { NeutronError, PlugError } from '../errors/index.ts';
import { check as checkPlug, parsePlugSpec } from '../plug/index.ts';
import type { Attachment } from '../store/index.ts';
import type { NodeContext } from './context.ts';
import { checkSubport } from './nested.ts';
import { plugSpecOf } from './nic.ts';

export interface CheckRequest {
  containerId: string;
  ifname: string;
  netns: string;
  /** Addresses the runtime's cached result holds ("1.2.0.100/16"); each must still be ours. */
  expectedAddresses?: string[] | undefined;
}

const fail = (msg: string) => new PlugError('check-failed', msg);
const ACTIVE_WAIT_MS = 30_000;

export function checkAttachment(ctx: NodeContext, req: CheckRequest): Promise<Attachment> {
  return ctx.locks.run({ containerId: req.containerId, ifname: req.ifname }, () => checkNow(ctx, req));
}

async function checkNow(ctx: NodeContext, req: CheckRequest): Promise<Attachment> {
  const a = await ctx.store.attachments.get({ containerId: req.containerId, ifname: req.ifname });
  if (!a) throw fail(`no attachment is recorded for container ${req.containerId} interface ${req.ifname}`);
  if (a.netns !== req.netns) throw fail(`${req.ifname} was plugged into netns ${a.netns}, not ${req.netns}`);
  const recorded = new Set(a.ips.map((i) => `${i.address}/${i.prefixLength}`));
  for (const addr of req.expectedAddresses ?? []) {
    if (!recorded.has(addr))
      throw fail(`address ${addr} of the previous result is not assigned to ${req.ifname}`);
  }
  await checkPlug(ctx.plug, parsePlugSpec(plugSpecOf(a)));
  const neutron = await ctx.neutron();
  const getPort = () =>
    neutron.ports.get(a.portId).catch((e: unknown) => {
      if (e instanceof NeutronError && e.reason === 'not-found')
        throw fail(`Neutron port ${a.portId} no longer exists`);
      throw e;
    });
  let port = await getPort();
  // A subport is bound where its trunk's parent is (the hypervisor), not to the VM node.
  if (a.subport) await checkSubport(ctx, neutron, a);
  else if (port.hostId !== ctx.node) {
    throw fail(
      `Neutron port ${a.portId} is bound to "${port.hostId || '(nothing)'}", not to this node "${ctx.node}"`,
    );
  }
  // Neutron marks a port ACTIVE only once it has processed OVN's claim, which lags the data path
  // by seconds on a busy server: a port just plugged is DOWN for a while and is waited for.
  const until = Date.now() + ACTIVE_WAIT_MS;
  while (port.status === 'DOWN' || port.status === 'BUILD') {
    if (Date.now() > until) break;
    await sleep(500);
    port = await getPort();
  }
  if (port.status !== 'ACTIVE')
    throw fail(`Neutron port ${a.portId} is ${port.status}, not ACTIVE (waited ${ACTIVE_WAIT_MS / 1000} s)`);
  if (port.macAddress.toLowerCase() !== a.mac.toLowerCase()) {
    throw fail(`Neutron port ${a.portId} has MAC ${port.macAddress}, the pod has ${a.mac}`);
  }
  const neutronIps = new Set(port.fixedIps.map((f) => f.ipAddress));
  for (const i of a.ips) {
    if (!neutronIps.has(i.address)) throw fail(`Neutron port ${a.portId} no longer holds ${i.address}`);
  }
  return a;
}
