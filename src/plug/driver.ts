/** What a plug driver gets to work with, and the OVS external_ids both drivers write. */
import type { Logger } from '../log/index.ts';
import type { NetnsPath } from './netns.ts';
import { NNET_IDS } from './ovs.ts';
import type { OvsdbClient } from './ovsdb.ts';
import type { PlugDriver, PlugSettings } from './settings.ts';
import type { DeviceNames, PlugSpec } from './spec.ts';

export interface DriverContext {
  settings: PlugSettings;
  spec: PlugSpec;
  names: DeviceNames;
  ovsdb: OvsdbClient;
  log: Logger;
  /** Where ovs-vswitchd runs: internal-port taps appear here; the hybrid chain is built here. */
  vsw: NetnsPath;
}

/** Plug result of one driver run. */
export interface DriverResult {
  ovsPort: string;
  hostIfname: string | undefined;
  changed: boolean;
}

/**
 * external_ids of the OVS interface: what ovn-controller and the Neutron OVS agent read (iface-id,
 * attached-mac, iface-status) and N-Net's own, so that every port traces back to its pod.
 */
export function portExternalIds(spec: PlugSpec, driver: PlugDriver): Record<string, string> {
  return {
    'iface-id': spec.portId,
    'attached-mac': spec.mac,
    'iface-status': 'active',
    [NNET_IDS.driver]: driver,
    [NNET_IDS.podNamespace]: spec.podNamespace,
    [NNET_IDS.podName]: spec.podName,
    [NNET_IDS.containerId]: spec.containerId,
    [NNET_IDS.ifname]: spec.ifname,
    [NNET_IDS.netns]: spec.netns,
  };
}
