/**
 * What the lab made, recorded as it is made, so `lab down` removes exactly that and nothing else.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LabState {
  netns: string[];
  pids: { label: string; pid: number; marker: string }[];
  chassis: string[];
  /** Pods added through the CNI plugin: enough to call DEL. */
  pods: { name: string; namespace: string; node: string; containerId: string; netns: string }[];
  envStartedByLab: boolean;
  storeUrl?: string;
}

export function emptyState(): LabState {
  return { netns: [], pids: [], chassis: [], pods: [], envStartedByLab: false };
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
