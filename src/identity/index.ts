/**
 * Keystone v3 identity: credentials (clouds.yaml / OS_* / explicit), password and
 * application-credential auth with project or domain scope, the service catalog, and a token
 * reused across processes through a 0600 on-disk cache.
 *
 *   import { loadCredentials, createSession } from '../identity/index.ts';
 *   const session = createSession(loadCredentials({ cloud: 'prod' }), { cacheDir: '/var/lib/nnet/tokens' });
 *   const neutronUrl = await session.endpoint('network');            // 'http://…:9696'
 *   const res = await session.request(`${neutronUrl}/v2.0/networks`); // re-authenticates once on 401
 *
 * Failures are IdentityError: 'no-credentials' (something missing, named), 'rejected' (Keystone
 * refused the credentials: the message names the user and Keystone URL, never the secret),
 * 'unreachable' (no connection, timeout, 5xx: retryable), 'no-endpoint' (not in the catalog).
 * Invalid values (bad auth_url, unknown auth_type) are InputError('invalid-config').
 */

export { DEFAULT_TOKEN_CACHE_DIR } from './cache.ts';
export type { Catalog, CatalogEndpoint, CatalogService, EndpointOptions } from './catalog.ts';
export { findEndpoint } from './catalog.ts';
export type { LoadCredentialsOptions } from './clouds.ts';
export { configSearchPath, credentialsFromEnv, credentialsFromObject, loadCredentials } from './clouds.ts';
export type {
  ApplicationCredentialCredentials,
  Credentials,
  DomainRef,
  Interface,
  PasswordCredentials,
  ProjectRef,
  Scope,
  UserRef,
} from './credentials.ts';
export { describeCredentials, toCloudEntry } from './credentials.ts';
export type { AuthState } from './keystone.ts';
export { revokeToken } from './keystone.ts';
export type { RequestOptions, SessionOptions, TokenSource } from './session.ts';
export { createSession, Session } from './session.ts';
export type { HttpOptions, TransportFailure, TransportFailureKind } from './transport.ts';
export { describeTransportFailure, transportFailure } from './transport.ts';
