/**
 * A Keystone project of a test's own with one user holding the `member` role on it (not admin),
 * made through the real Keystone's API with the env's admin credentials, and a clouds.yaml (0600)
 * for that user. remove() deletes the user and the project, and what Neutron made for the project
 * on its own (its `default` security group).
 *
 *   const p = await createMemberProject(env, `${PREFIX}-p`, dir);
 *   spawn kubenetctl with OS_CLIENT_CONFIG_FILE=p.cloudsYaml OS_CLOUD=p.cloud
 *   await p.remove();
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSession, loadCredentials, type Session } from '../../src/identity/index.ts';
import { createNeutronClient } from '../../src/neutron/index.ts';
import type { TestEnv } from './env.ts';

export interface MemberProject {
  projectId: string;
  projectName: string;
  userId: string;
  userName: string;
  /** A clouds.yaml (0600) whose cloud `cloud` is this user scoped to this project. */
  cloudsYaml: string;
  cloud: string;
  remove(): Promise<void>;
}

async function keystone(admin: Session, env: TestEnv, method: string, path: string, body?: unknown) {
  const res = await admin.request(`${env.keystoneUrl}${path}`, {
    method,
    ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}),
  });
  const text = await res.text();
  if (!res.ok && !(method === 'DELETE' && res.status === 404))
    throw new Error(`Keystone ${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text ? (JSON.parse(text) as Record<string, Record<string, unknown>>) : {};
}

export async function createMemberProject(env: TestEnv, name: string, dir: string): Promise<MemberProject> {
  const admin = createSession(loadCredentials({ file: env.cloudsYaml, cloud: env.cloud, env: {} }), {
    cacheDir: null,
  });
  const password = randomBytes(18).toString('base64url');
  const made: { projectId?: string; userId?: string } = {};
  // Every step is tried, whatever failed before it; the first failure is reported at the end.
  const remove = async () => {
    const failures: unknown[] = [];
    const attempt = (step: () => Promise<unknown>) => step().catch((e: unknown) => failures.push(e));
    if (made.projectId) {
      const neutron = createNeutronClient(admin);
      await attempt(async () => {
        for (const g of await neutron.securityGroups.list({ projectId: made.projectId }))
          await neutron.securityGroups.ensureDeleted(g.id);
      });
    }
    if (made.userId) await attempt(() => keystone(admin, env, 'DELETE', `/users/${made.userId}`));
    if (made.projectId) await attempt(() => keystone(admin, env, 'DELETE', `/projects/${made.projectId}`));
    if (failures.length > 0) throw failures[0];
  };
  try {
    const project = await keystone(admin, env, 'POST', '/projects', {
      project: { name, domain_id: 'default', description: 'N-Net test project (removed by the test)' },
    });
    made.projectId = String(project.project!.id);
    const user = await keystone(admin, env, 'POST', '/users', {
      user: { name, password, domain_id: 'default', default_project_id: made.projectId },
    });
    made.userId = String(user.user!.id);
    const roles = (await keystone(admin, env, 'GET', '/roles?name=member')) as unknown as {
      roles: { id: string }[];
    };
    const member = roles.roles[0];
    if (!member) throw new Error('Keystone has no "member" role');
    await keystone(admin, env, 'PUT', `/projects/${made.projectId}/users/${made.userId}/roles/${member.id}`);
  } catch (e) {
    await remove().catch(() => undefined);
    throw e;
  }
  const cloudsYaml = join(dir, `${name}-clouds.yaml`);
  const cloud = name;
  writeFileSync(
    cloudsYaml,
    [
      'clouds:',
      `  ${cloud}:`,
      '    auth:',
      `      auth_url: ${env.keystoneUrl}`,
      `      username: ${name}`,
      `      password: ${password}`,
      `      project_name: ${name}`,
      '      user_domain_id: default',
      '      project_domain_id: default',
      `    region_name: ${env.region}`,
      '    interface: public',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return {
    projectId: made.projectId!,
    projectName: name,
    userId: made.userId!,
    userName: name,
    cloudsYaml,
    cloud,
    remove,
  };
}
