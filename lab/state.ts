/**
 * What the lab made, recorded as it is made, so `lab down` removes exactly that and nothing else.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Something the lab made (or that blocks it) and could not remove: what, why, and what removes the cause. */
export interface Leftover {
  what: string;
  why: string;
  fix: string;
}

export interface LabState {
  netns: string[];
  /** Daemons by PID; `marker` is a string their command line holds (guards against PID reuse). */
  pids: { label: string; pid: number; marker: string }[];
  chassis: string[];
  /** Podman containers (pods), each in its node's podman store (`podmanDir`), run in the node's netns. */
  containers: { name: string; node: string; netns: string; podmanDir: string }[];
  /** The node agents and where they serve metrics. */
  agents: { node: string; pid: number; metricsUrl: string; logFile: string }[];
  /** The lab began creating Neutron resources (so `down` must look for them). */
  neutronTouched: boolean;
  envStartedByLab: boolean;
  storeUrl?: string;
}

export function emptyState(): LabState {
  return {
    netns: [],
    pids: [],
    chassis: [],
    containers: [],
    agents: [],
    neutronTouched: false,
    envStartedByLab: false,
  };
}

export class StateFile {
  readonly path: string;
  state: LabState;
  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, 'state.json');
    try {
      this.state = { ...emptyState(), ...JSON.parse(readFileSync(this.path, 'utf8')) };
    } catch {
      this.state = emptyState();
    }
  }
  update(fn: (s: LabState) => void): void {
    fn(this.state);
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 2), { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}
