/**
 * Neutron tags are at most 255 characters, and Kubernetes names up to 253: a `key=value` tag of
 * a long name would be refused. Values longer than MAX_TAG_VALUE keep a readable prefix and end
 * with a hash of the whole name, so they stay distinct and the same name always gives the same tag.
 */
import { createHash } from 'node:crypto';

const MAX_TAG_VALUE = 200;

export function tagValue(value: string): string {
  if (value.length <= MAX_TAG_VALUE) return value;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 16);
  return `${value.slice(0, MAX_TAG_VALUE - 17)}~${hash}`;
}

/** The tag naming the node a port is for (its node port, its pool ports, its nested ADDs' ports). */
export function nodeTag(node: string): string {
  return `nnet-node=${tagValue(node)}`;
}

/** The tag naming the cluster a Neutron object belongs to. */
export function clusterTag(cluster: string): string {
  return `nnet-cluster=${tagValue(cluster)}`;
}
