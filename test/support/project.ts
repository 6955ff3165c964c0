/**
 * A Keystone project of a test's own (prefix nnt…), with the environment's admin user given the
 * admin role on it, so a test cluster can be registered scoped to it — e.g. to set a Neutron port
 * quota on it without touching anyone else's. remove() deletes the project (and resets its quota).
 */
import { adminToken, type TestEnv } from './env.ts';

export interface TestProject {
  id: string;
  name: string;
  remove(): Promise<void>;
}

async function keystone(env: TestEnv, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${env.keystoneUrl}${path}`, {
    method,
    headers: { 'x-auth-token': token, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 300 && !(method === 'DELETE' && res.status === 404))
    throw new Error(`Keystone ${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

export async function createTestProject(env: TestEnv, name: string): Promise<TestProject> {
  const token = await adminToken(env);
  const project = (
    await keystone(env, token, 'POST', '/projects', { project: { name, domain_id: 'default' } })
  ).project as { id: string };
  const remove = () => keystone(env, token, 'DELETE', `/projects/${project.id}`).then(() => undefined);
  try {
    const user = (
      await keystone(env, token, 'GET', `/users?name=${encodeURIComponent(env.osEnv.OS_USERNAME!)}`)
    ).users[0] as { id: string };
    const role = (await keystone(env, token, 'GET', '/roles?name=admin')).roles[0] as { id: string };
    await keystone(env, token, 'PUT', `/projects/${project.id}/users/${user.id}/roles/${role.id}`);
  } catch (e) {
    await remove().catch(() => undefined);
    throw e;
  }
  return { id: project.id, name, remove };
}
