/**
 * One command at a time per attachment (container id, ifname) on a node: a second ADD, a DEL or
 * CHECK of the same NIC waits for the one running, so a DEL that follows an ADD the runtime gave
 * up on (its client killed) undoes the finished ADD rather than racing it. The sweep asks which
 * containers have a command in flight, so it never collects what an ADD is still making.
 *
 *   const locks = createAttachmentLocks();
 *   await locks.run({ containerId, ifname: 'eth0' }, () => attachNow());
 */

export interface AttachmentKey {
  containerId: string;
  ifname: string;
}

export interface AttachmentLocks {
  run<T>(key: AttachmentKey, fn: () => Promise<T>): Promise<T>;
  /** Whether a command of this container (any ifname) is running or waiting. */
  busy(containerId: string): boolean;
}

export function createAttachmentLocks(): AttachmentLocks {
  const tails = new Map<string, Promise<unknown>>();
  const perContainer = new Map<string, number>();
  const id = (k: AttachmentKey) => `${k.containerId}\u0000${k.ifname}`;
  return {
    async run(key, fn) {
      const k = id(key);
      perContainer.set(key.containerId, (perContainer.get(key.containerId) ?? 0) + 1);
      const before = tails.get(k) ?? Promise.resolve();
      const mine = before.then(fn, fn);
      const tail = mine.then(
        () => undefined,
        () => undefined,
      );
      tails.set(k, tail);
      try {
        return await mine;
      } finally {
        if (tails.get(k) === tail) tails.delete(k);
        const n = (perContainer.get(key.containerId) ?? 1) - 1;
        if (n > 0) perContainer.set(key.containerId, n);
        else perContainer.delete(key.containerId);
      }
    },
    busy: (containerId) => perContainer.has(containerId),
  };
}
