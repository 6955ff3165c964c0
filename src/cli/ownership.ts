/**
 * Who may see, change and delete a podnetwork: the Keystone project that made it. kubenetctl talks
 * to Neutron as the user, so a pod's reserved port lives in the user's project, and the config
 * records that project (`projectId`, the user's token's project). A user of another project sees
 * neither the config nor the port: Neutron answers 404 for a port of another project, which must
 * not be read as "already gone". Configs recorded before the project was kept have none; their
 * owner is the project of their reserved ports, which Neutron shows only to that project (and to
 * admins, who see every project's ports and so never mistake one for their own).
 *
 *   const project = await userProject(scope);
 *   const { mine, others } = await byOwner(scope, project, configs);
 *   if (others.includes(config)) throw belongsToAnotherProject(config, project);
 */
import { IdentityError, InputError } from '../errors/index.ts';
import type { Port } from '../neutron/index.ts';
import type { ClusterScope } from '../resources/index.ts';
import type { PodNetworkConfig } from '../store/index.ts';

export interface UserProject {
  id: string;
  name: string | undefined;
}

/** The project the user's token is scoped to: what owns the podnetworks they make. */
export async function userProject(scope: Pick<ClusterScope, 'neutron'>): Promise<UserProject> {
  const auth = await scope.neutron.session.auth();
  if (!auth.project)
    throw new IdentityError(
      'no-credentials',
      'your OpenStack credentials are not scoped to a project: kubenetctl needs a project-scoped token (set project_name or project_id, OS_PROJECT_NAME or OS_PROJECT_ID)',
    );
  return { id: auth.project.id, name: auth.project.name };
}

const reservedPorts = (c: Pick<PodNetworkConfig, 'nics'>): string[] =>
  c.nics.flatMap((n) => (n.reservedPortId ? [n.reservedPortId] : []));

/** A config recorded before N-Net kept its project. */
export const isLegacy = (c: PodNetworkConfig): boolean => c.projectId === undefined;

/**
 * Whether a config recorded without its project is `project`'s: every one of its reserved ports
 * is visible to the user and belongs to `project`. `visible` holds the ports the user can see.
 */
function legacyOwnedBy(c: PodNetworkConfig, project: string, visible: ReadonlyMap<string, Port>): boolean {
  return reservedPorts(c).every((id) => visible.get(id)?.projectId === project);
}

/** Splits configs into the user's project's and the others' (one Neutron list for legacy rows). */
export async function byOwner(
  scope: Pick<ClusterScope, 'neutron'>,
  project: UserProject,
  configs: readonly PodNetworkConfig[],
): Promise<{ mine: PodNetworkConfig[]; others: PodNetworkConfig[] }> {
  const legacyPorts = configs.filter(isLegacy).flatMap(reservedPorts);
  const visible =
    legacyPorts.length > 0
      ? new Map((await scope.neutron.ports.list({ id: legacyPorts })).map((p) => [p.id, p]))
      : new Map<string, Port>();
  const mine: PodNetworkConfig[] = [];
  const others: PodNetworkConfig[] = [];
  for (const c of configs) {
    const owned = isLegacy(c) ? legacyOwnedBy(c, project.id, visible) : c.projectId === project.id;
    (owned ? mine : others).push(c);
  }
  return { mine, others };
}

/** Whether one config is the user's project's. */
export async function ownedBy(
  scope: Pick<ClusterScope, 'neutron'>,
  project: UserProject,
  config: PodNetworkConfig,
): Promise<boolean> {
  return (await byOwner(scope, project, [config])).mine.length === 1;
}

const describeProject = (p: UserProject) => (p.name ? `${p.name} (${p.id})` : p.id);

/** `podnetwork "db" belongs to another project …`: refused before anything is touched. */
export function belongsToAnotherProject(config: PodNetworkConfig, project: UserProject): InputError {
  const legacy = isLegacy(config)
    ? "; it was recorded before N-Net kept podnetworks' projects, and its port is not one of your project's (it is another project's, or it is gone: a user of the project that made it can release it)"
    : '';
  return new InputError(
    'invalid-argument',
    `podnetwork "${config.pod}" belongs to another project (namespace ${config.namespace}): your project ${describeProject(project)} cannot see, change or delete it${legacy}`,
  );
}
