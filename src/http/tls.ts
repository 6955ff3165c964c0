/**
 * TLS settings of a client (which CAs to trust, a client certificate, whether to verify at all),
 * the https.Agent that applies them, and the classification of TLS handshake failures.
 * Certificate and key files are read when the agent is made; their content never reaches a
 * message (only their paths do).
 */
import { readFileSync } from 'node:fs';
import type { Agent } from 'node:https';
import { createRequire } from 'node:module';
import { InputError } from '../errors/index.ts';

export interface TlsSettings {
  /** PEM file of the CAs to trust instead of the system's (openstack CLI `cacert`, `OS_CACERT`). */
  caFile?: string | undefined;
  /** PEM client certificate (`cert`, `OS_CERT`), and its key (`key`, `OS_KEY`). */
  certFile?: string | undefined;
  keyFile?: string | undefined;
  /** False: the server's certificate is not verified (`verify: false`, `insecure`, `OS_INSECURE`). */
  verify: boolean;
}

/** True when the settings ask for nothing beyond the default (system CAs, verification on). */
export function isDefaultTls(t: TlsSettings | undefined): boolean {
  return !t || (t.verify && !t.caFile && !t.certFile && !t.keyFile);
}

function readPem(file: string, what: string, source: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new InputError(
      'invalid-config',
      `${source}: the ${what} file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

// node:https is loaded only by clients that need TLS settings (the plugin's start-up stays lean).
const requireNode = createRequire(import.meta.url);

/**
 * An https.Agent (keep-alive) for these settings, or undefined when they are the default (then
 * the global fetch with the system's CAs does). Unreadable files and unusable PEM are
 * InputError('invalid-config') naming the file, never quoting it.
 */
export function tlsAgent(t: TlsSettings | undefined, source: string): Agent | undefined {
  if (!t || isDefaultTls(t)) return undefined;
  if (t.keyFile && !t.certFile)
    throw new InputError(
      'invalid-config',
      `${source}: a client key (key) is given without a certificate (cert)`,
    );
  const ca = t.caFile ? readPem(t.caFile, 'CA certificate (cacert)', source) : undefined;
  const cert = t.certFile ? readPem(t.certFile, 'client certificate (cert)', source) : undefined;
  // Without a separate key, the certificate file must hold it too (as requests allows).
  const key = t.keyFile ? readPem(t.keyFile, 'client key (key)', source) : cert;
  const https = requireNode('node:https') as typeof import('node:https');
  const tls = requireNode('node:tls') as typeof import('node:tls');
  const options = { ca, cert, key: cert ? key : undefined, rejectUnauthorized: t.verify };
  try {
    tls.createSecureContext(options);
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'unusable PEM';
    const files = [t.caFile, t.certFile, t.keyFile].filter(Boolean).join(', ');
    throw new InputError('invalid-config', `${source}: the TLS files ${files} cannot be used (${code})`);
  }
  return new https.Agent({ ...options, keepAlive: true });
}

// ---- classification

/** The server's certificate could not be verified against the trusted CAs. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
  'INVALID_CA',
  'CERT_CHAIN_TOO_LONG',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
]);
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const WRONG_HOST = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);
/** Alerts a server sends when it refuses the client's certificate (or its absence). */
const CLIENT_REFUSED =
  /^ERR_SSL_(TLSV13_ALERT_CERTIFICATE_REQUIRED|SSLV3_ALERT_BAD_CERTIFICATE|TLSV1_ALERT_UNKNOWN_CA|SSLV3_ALERT_CERTIFICATE_UNKNOWN|TLSV1_ALERT_ACCESS_DENIED|SSLV3_ALERT_HANDSHAKE_FAILURE|SSLV3_ALERT_CERTIFICATE_EXPIRED|SSLV3_ALERT_CERTIFICATE_UNSUPPORTED|TLSV1_ALERT_DECRYPT_ERROR)$/;

export interface TlsFailure {
  /** OpenSSL's or Node's code, e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE. */
  code: string;
  /** What it means, for messages: `the server's certificate is not trusted (…)`. */
  why: string;
}

function codesOf(e: unknown, depth = 0): string[] {
  if (!e || typeof e !== 'object' || depth > 4) return [];
  const out: string[] = [];
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') out.push(code);
  out.push(...codesOf((e as { cause?: unknown }).cause, depth + 1));
  const errors = (e as { errors?: unknown }).errors;
  if (Array.isArray(errors)) for (const inner of errors) out.push(...codesOf(inner, depth + 1));
  return out;
}

function describe(code: string): string | undefined {
  if (UNTRUSTED.has(code)) return `the server's certificate is not trusted (${code})`;
  if (EXPIRED.has(code)) return `the server's certificate is not valid now (${code})`;
  if (WRONG_HOST.has(code)) return `the server's certificate does not name this host (${code})`;
  if (CLIENT_REFUSED.test(code))
    return `the server refused the TLS handshake: it wants a client certificate it trusts (${code})`;
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG')
    return `the server does not speak TLS on this port (${code})`;
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code.startsWith('ERR_OSSL_'))
    return `the TLS handshake failed (${code})`;
  return undefined;
}

/** The TLS failure inside a fetch/https rejection (in `cause` or its aggregates), if it is one. */
export function tlsFailureOf(e: unknown): TlsFailure | undefined {
  for (const code of codesOf(e)) {
    const why = describe(code);
    if (why) return { code, why };
  }
  return undefined;
}
