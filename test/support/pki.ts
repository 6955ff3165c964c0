/**
 * A private certificate authority for TLS tests, made with openssl in a directory of the test's
 * own: the CA, a server certificate for 127.0.0.1/localhost, a client certificate, and a second
 * CA that signed nothing the servers present (for "unknown CA" cases).
 *
 *   const pki = makePki(dir);
 *   https.createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, …);
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  caCert: string;
  /** A CA of its own, unrelated to the servers' certificates. */
  otherCaCert: string;
  serverCert: string;
  serverKey: string;
  /**
   * No CommonName (subject O=nnet-test-client): etcd's JSON gateway refuses a client certificate
   * with a CN while auth is enabled ("CommonName of client sending a request against gateway will
   * be ignored"), since CN-based auth does not work through it.
   */
  clientCert: string;
  clientKey: string;
}

const openssl = (args: string[], cwd: string) =>
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });

function ca(dir: string, name: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
    ],
    dir,
  );
  return { cert, key };
}

function signed(
  dir: string,
  name: string,
  subject: string,
  issuer: { cert: string; key: string },
  ext: string,
): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      issuer.cert,
      '-CAkey',
      issuer.key,
      '-CAcreateserial',
      '-out',
      cert,
      '-days',
      '2',
      '-extfile',
      extFile,
    ],
    dir,
  );
  return { cert, key };
}

export function makePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const root = ca(dir, 'nnet-test-ca');
  const other = ca(dir, 'nnet-test-other-ca');
  const server = signed(
    dir,
    'server',
    '/CN=localhost',
    root,
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  const client = signed(dir, 'client', '/O=nnet-test-client', root, 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caCert: root.cert,
    otherCaCert: other.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
  };
}
