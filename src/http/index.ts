/**
 * HTTP for N-Net's service clients (Keystone, Neutron, etcd): TLS settings applied per client,
 * replies read up to a cap, TLS failures told apart from outages.
 *
 *   const agent = tlsAgent({ caFile: '/etc/nnet/ca.pem', verify: true }, 'clouds.yaml … cloud "prod"');
 *   const res = await send('https://keystone:5000/v3', { method: 'GET', headers: {} }, agent);
 *   const text = await readCapped(res, 8 * MiB, () => new IdentityError('too-large', '…'));
 *   tlsFailureOf(err); // { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', why: "the server's certificate is not trusted (…)" }
 */
export { discard, formatBytes, MiB, readCapped } from './body.ts';
export { type SendInit, send } from './send.ts';
export { isDefaultTls, type TlsFailure, type TlsSettings, tlsAgent, tlsFailureOf } from './tls.ts';
