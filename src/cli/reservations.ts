/**
 * The network side of kubenetctl as the pod handlers see it: reserve a pod's network before
 * kubectl creates the pod, release it after kubectl deleted it. Built on the store and Neutron
 * (podnet.ts); there is none while N-Net has no cluster registered (the pod flow then runs
 * kubectl alone, with a warning).
 */
import type { ClusterScope } from '../resources/index.ts';
import { checkPodNetwork, releasePodNetwork, reservePodNetwork } from './podnet.ts';
import type { NnetSession } from './session.ts';
import type { PodNetworkRequest } from './types.ts';

/** A reservation that can be undone (kubectl failed after it was made). */
export interface Reservation {
  undo(): Promise<void>;
}

export interface NetworkBackend {
  /** Validates against Neutron only (--dry-run): reserves nothing. */
  checkPod(request: PodNetworkRequest): Promise<void>;
  /** Validates against Neutron, creates the unbound port (the IP reservation), records the config. */
  reservePod(request: PodNetworkRequest): Promise<Reservation>;
  /** Releases a pod's reservation and config; a pod N-Net does not know is not an error. */
  releasePod(ref: { namespace: string; pod: string }): Promise<void>;
}

/**
 * The backend over a session, or null when N-Net is not configured: no cluster named
 * (--cluster, NNET_CLUSTER) and none registered in the store (or no store yet).
 */
export async function loadBackend(session: NnetSession): Promise<NetworkBackend | null> {
  const cluster = await session.configuredCluster();
  if (!cluster) return null;
  const scope = async (): Promise<ClusterScope> => ({
    store: await session.store(),
    cluster,
    neutron: await session.neutron(),
  });
  return {
    async checkPod(request) {
      await checkPodNetwork(await scope(), request);
    },
    async reservePod(request) {
      return reservePodNetwork(await scope(), request);
    },
    async releasePod(ref) {
      const store = await session.store();
      const key = { cluster: cluster.name, ...ref };
      // Neutron only when there is something to release.
      if (!(await store.podConfigs.get(key))) return;
      // kubectl deleted the pod: its port goes even if DEL has not unbound it (yet).
      await releasePodNetwork(await scope(), key, { force: true });
    },
  };
}
