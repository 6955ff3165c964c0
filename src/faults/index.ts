/**
 * Fault points: named places in ADD (and DEL, the agent's re-plug and pool refill) where a test can make N-Net fail or die, to prove that the
 * undo, DEL, GC and the agent's reconcile leave nothing behind. Production code only announces
 * the points; nothing is injected unless a hook is installed, and only the test build of the
 * binaries (test/support/faulty/) installs one.
 *
 *   await faultPoint('port'); // no-op in production
 */

/** ADD's own points, the pools' refill, re-plug and DEL, then the plug drivers' steps (src/plug/spec.ts). */
export type FaultPoint =
  | 'port' // the Neutron port is created / bound
  | 'plug' // the NIC is configured, before the store write
  | 'record' // the attachment is recorded, before the result is returned
  | 'pool-refill' // the agent's refill made its ports (bound, plugged), before they are ready
  | 'replug' // the agent's re-plug found the NIC's record, before it plugs
  | 'unplug' // DEL unplugged a recorded NIC, before it releases the port and the record
  | 'nested-port' // nested: the pod's port is made or taken, before it joins the VM's trunk
  | 'subport' // nested: the port was added to the VM's trunk, before the NIC is plugged
  | 'vlan-device'
  | 'bridge'
  | 'veth-ovs'
  | 'ovs-port'
  | 'veth-pod'
  | 'move'
  | 'configure';

export type FaultHook = (point: FaultPoint) => void | Promise<void>;

let hook: FaultHook | undefined;

/** Installs (or, with undefined, removes) the hook. Tests only. */
export function installFaultHook(h: FaultHook | undefined): void {
  hook = h;
}

/** Announces that `point` was reached; the hook may throw (a failure) or kill the process. */
export async function faultPoint(point: FaultPoint): Promise<void> {
  if (hook) await hook(point);
}
