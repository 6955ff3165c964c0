/**
 * What the benchmark made besides the lab nodes (those are in lab/state.ts's StateFile): Neutron
 * objects, the store prefix, pods added through CNI. Written as it is made, so an interrupted run
 * is cleaned up by the next one.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BenchPod {
  name: string;
  namespace: string;
  containerId: string;
  netns: string;
  /** The runtime directory (conflist + plugin) that added it, for DEL. */
  cniDir: string;
}

export interface BenchRecordData {
  etcdUrl?: string;
  storePrefix?: string;
  /** The cluster's name: its nodes' own ports and node-access groups are found by it. */
  cluster?: string;
  /** Neutron networks, deleted last (with any ports left on them). */
  networks: string[];
  subnets: string[];
  /** Neutron ports made outside N-Net (reservations, the bare-limit ports). */
  ports: string[];
  /** Trunks (nested mode's VMs): their subports are removed and they go before the ports. */
  trunks: string[];
  /** OVS ports plugged by hand: ovsdb socket + name. */
  ovsPorts: { db: string; name: string }[];
  pods: BenchPod[];
}

export class BenchRecord {
  readonly path: string;
  data: BenchRecordData;
  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, 'bench-state.json');
    const empty: BenchRecordData = {
      networks: [],
      subnets: [],
      ports: [],
      trunks: [],
      ovsPorts: [],
      pods: [],
    };
    try {
      this.data = { ...empty, ...JSON.parse(readFileSync(this.path, 'utf8')) };
    } catch {
      this.data = empty;
    }
  }
  update(fn: (d: BenchRecordData) => void): void {
    fn(this.data);
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data, null, 2), { mode: 0o600 });
    renameSync(tmp, this.path);
  }
  removePod(containerId: string): void {
    this.update((d) => {
      d.pods = d.pods.filter((x) => x.containerId !== containerId);
    });
  }
  removePort(id: string): void {
    this.update((d) => {
      d.ports = d.ports.filter((x) => x !== id);
    });
  }
  get empty(): boolean {
    const d = this.data;
    return (
      !d.storePrefix &&
      !d.cluster &&
      d.networks.length +
        d.subnets.length +
        d.ports.length +
        d.trunks.length +
        d.ovsPorts.length +
        d.pods.length ===
        0
    );
  }
}
