/**
 * A pod's security groups, as a user names them (a name or an id) resolved to the groups of the
 * user's project; and the set a pod port carries. kubenetctl resolves them at request time, so an
 * unknown group, or one of another project, fails before anything is reserved.
 *
 *   const groups = await resolveSecurityGroups(neutron, projectId, ['web', 'ssh']);
 *   portGroups(groups.map((g) => g.id), access); // + the cluster's node-access group
 */
import { NeutronError } from '../errors/index.ts';
import type { NeutronClient, SecurityGroup } from '../neutron/index.ts';
import { isUuid } from './ip.ts';

/** At most this many groups per pod (Neutron's own per-port limit is the quota's; this keeps rows small). */
export const MAX_POD_SECURITY_GROUPS = 16;

/**
 * Resolves each reference to one group of `projectId`: an id must be such a group, a name must
 * name exactly one. Fails naming the first reference that does not (NeutronError 'not-found',
 * 'refused' for another project's group, 'conflict' for an ambiguous name). Keeps the order given,
 * without repeats.
 */
export async function resolveSecurityGroups(
  neutron: NeutronClient,
  projectId: string,
  refs: readonly string[],
): Promise<SecurityGroup[]> {
  const out: SecurityGroup[] = [];
  for (const ref of refs) {
    const group = isUuid(ref)
      ? await groupById(neutron, projectId, ref)
      : await groupByName(neutron, projectId, ref);
    if (!out.some((g) => g.id === group.id)) out.push(group);
  }
  return out;
}

async function groupById(neutron: NeutronClient, projectId: string, id: string): Promise<SecurityGroup> {
  const group = await neutron.securityGroups.get(id).catch((e: unknown) => {
    if (e instanceof NeutronError && e.reason === 'not-found')
      throw new NeutronError(
        'not-found',
        `security group ${id} does not exist (or your project cannot see it)`,
        {
          status: 404,
        },
      );
    throw e;
  });
  if (group.projectId !== undefined && group.projectId !== projectId)
    throw new NeutronError(
      'refused',
      `security group ${id} (${group.name}) belongs to another project (${group.projectId}), not yours (${projectId})`,
    );
  return group;
}

async function groupByName(neutron: NeutronClient, projectId: string, name: string): Promise<SecurityGroup> {
  const found = await neutron.securityGroups.list({ name, projectId });
  if (found.length === 0)
    throw new NeutronError(
      'not-found',
      `security group "${name}" does not exist in your project (${projectId})`,
      {
        status: 404,
      },
    );
  if (found.length > 1)
    throw new NeutronError(
      'conflict',
      `security group name "${name}" is ambiguous in your project: ${found.map((g) => g.id).join(', ')}; give its id`,
    );
  return found[0]!;
}

/**
 * The groups a pod port carries: the pod's own, and always the cluster's node-access group, which
 * admits the node's probes and Service traffic whatever the pod's own groups admit.
 */
export function portGroups(own: readonly string[], accessGroupId: string | undefined): string[] {
  return [...new Set([...own, ...(accessGroupId ? [accessGroupId] : [])])];
}
