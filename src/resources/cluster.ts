/**
 * A cluster's Keystone identity, as kept in N-Net's store, turned into an authenticated Neutron
 * client: the paper's step "authenticate the cluster with Keystone, then talk to Neutron".
 */
import { type Stats, statSync } from 'node:fs';
import { IdentityError } from '../errors/index.ts';
import {
  type Credentials,
  createSession,
  credentialsFromObject,
  loadCredentials,
  type Session,
} from '../identity/index.ts';
import type { Logger } from '../log/index.ts';
import { createNeutronClient, type NeutronClient, type RequestQueue } from '../neutron/index.ts';
import type { Cluster } from '../store/index.ts';

// Keystone's default domain has id "default" and name "Default"; other ids are 32 hex digits.
function domainKey(value: string, kind: 'user' | 'project'): Record<string, string> {
  const isId = value === 'default' || /^[0-9a-f]{32}$/.test(value);
  return { [`${kind}_domain_${isId ? 'id' : 'name'}`]: value };
}

/**
 * A registered cluster's credentials (they hold its secret: never log them). A `node-file`
 * reference is read from this node's file, which must be the caller's and not open to others.
 */
export function clusterCredentials(cluster: Cluster): Credentials {
  const c = cluster.credentials;
  if (c.type === 'node-file') return nodeFileCredentials(cluster, c);
  const common = {
    ...(cluster.region ? { region_name: cluster.region } : {}),
    ...(cluster.interface ? { interface: cluster.interface } : {}),
  };
  const entry =
    c.type === 'password'
      ? {
          auth_type: 'password',
          auth: {
            auth_url: cluster.authUrl,
            username: c.username,
            password: c.password,
            project_name: c.projectName,
            ...domainKey(c.userDomain, 'user'),
            ...domainKey(c.projectDomain, 'project'),
          },
          ...common,
        }
      : {
          auth_type: 'v3applicationcredential',
          auth: {
            auth_url: cluster.authUrl,
            application_credential_id: c.id,
            application_credential_secret: c.secret,
          },
          ...common,
        };
  return credentialsFromObject(entry, `cluster "${cluster.name}" in the N-Net store`);
}

function nodeFileCredentials(cluster: Cluster, ref: { path: string; cloud?: string }): Credentials {
  const where = `cluster "${cluster.name}" keeps its credentials in ${ref.path} on each node`;
  let st: Stats;
  try {
    st = statSync(ref.path);
  } catch (e) {
    throw new IdentityError(
      'no-credentials',
      `${where}; this node has none (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
    );
  }
  if (!st.isFile()) throw new IdentityError('no-credentials', `${where}; here it is not a regular file`);
  if ((st.mode & 0o077) !== 0 || (typeof process.getuid === 'function' && st.uid !== process.getuid()))
    throw new IdentityError(
      'no-credentials',
      `${where}; here it is open to others (mode ${(st.mode & 0o777).toString(8)}, owner ${st.uid}): it must be ours, mode 0600`,
    );
  const loaded = loadCredentials({ file: ref.path, cloud: ref.cloud, env: {} });
  return {
    ...loaded,
    ...(cluster.region !== undefined ? { regionName: cluster.region } : {}),
    ...(cluster.interface !== undefined ? { interface: cluster.interface } : {}),
  };
}

export interface ConnectOptions {
  tokenCacheDir: string;
  keystoneTimeoutMs: number;
  /** Per Neutron request; default: none when `signal` is given, else 30 s. */
  neutronTimeoutMs?: number | undefined;
  /** The caller's deadline for every Neutron request. */
  signal?: AbortSignal | undefined;
  tagsOnCreate?: 'auto' | 'inline' | 'separate';
  logger?: Logger;
  /** The node's Neutron queue (nnet-agent): every request of the client waits its turn there. */
  queue?: RequestQueue | undefined;
}

export interface Connection {
  session: Session;
  neutron: NeutronClient;
}

/** Authenticates (a cached token counts) and returns a Neutron client for these credentials. */
export async function connect(credentials: Credentials, o: ConnectOptions): Promise<Connection> {
  const session = createSession(credentials, {
    cacheDir: o.tokenCacheDir,
    authTimeoutMs: o.keystoneTimeoutMs,
    ...(o.logger ? { logger: o.logger } : {}),
  });
  await session.token();
  const neutron = createNeutronClient(session, {
    ...(o.neutronTimeoutMs !== undefined ? { timeoutMs: o.neutronTimeoutMs } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    // Neutron before 2023.2 has no tag-creation extension; asking costs a request per process.
    tagsOnCreate: o.tagsOnCreate ?? 'separate',
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.queue ? { queue: o.queue } : {}),
  });
  return { session, neutron };
}
