/**
 * The network side of kubenetctl as handlers see it: reserve a pod's network before kubectl
 * creates the pod, release it after kubectl deleted it. Phase 2 implements it on the store
 * (src/store) and the Neutron client (src/neutron); until a cluster is configured there is none
 * and the pod flow runs kubectl alone.
 */
import type { PodNetworkRequest } from './types.ts';

/** A reservation that can be undone (kubectl failed after it was made). */
export interface Reservation {
  undo(): Promise<void>;
}

export interface NetworkBackend {
  /** Validates against Neutron, creates the unbound port (the IP reservation), records the config. */
  reservePod(request: PodNetworkRequest): Promise<Reservation>;
  /** Releases a pod's reservation and config; a pod N-Net does not know is not an error. */
  releasePod(ref: { namespace: string; pod: string }): Promise<void>;
}

/** The configured backend, or null when N-Net has no cluster configured. */
export async function loadBackend(_env: NodeJS.ProcessEnv): Promise<NetworkBackend | null> {
  return null;
}
