/**
 * A node for tests: the one OVS node fixture (lab/ovs-node.ts: its own netns, ovsdb-server,
 * ovs-vswitchd on the userspace datapath, br-int, and optionally ovn-controller joined to an OVN
 * southbound DB), plus the plug settings that drive N-Net's drivers on it.
 *
 *   const node = await startOvsNode({ name: 'nntp-n1' });
 *   t.after(() => node.stop());
 *   const settings = node.plugSettings({ driver: 'hybrid' });
 */
import {
  type OvsNode as BaseNode,
  type OvsNodeOptions,
  startOvsNode as startNode,
} from '../../lab/ovs-node.ts';
import { type PlugSettings, type PlugSettingsInput, parsePlugSettings } from '../../src/plug/index.ts';

export type { OvsNodeOptions };

export interface OvsNode extends BaseNode {
  /** Plug settings for this node (netdev datapath, vswitchd netns = the node netns). */
  plugSettings(overrides?: Partial<PlugSettingsInput>): PlugSettings;
}

export async function startOvsNode(opts: OvsNodeOptions): Promise<OvsNode> {
  const node = await startNode(opts);
  return {
    ...node,
    plugSettings: (overrides = {}) =>
      parsePlugSettings({
        ovsdb: `unix:${node.ovsdbSocket}`,
        bridge: 'br-int',
        datapathType: 'netdev',
        vswitchdNetns: node.netnsPath,
        ...overrides,
      }),
  };
}
