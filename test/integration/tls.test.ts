/**
 * TLS options honoured as the openstack CLI honours them, against the real Keystone and Neutron
 * behind HTTPS reverse proxies of this test's own (a private CA made with openssl): `cacert`,
 * `verify: false` / `insecure`, `cert`/`key`, and their OS_* forms. A TLS failure is a
 * configuration error: code 112 at once, one handshake and no retry, nothing left behind.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { IdentityError } from '../../src/errors/index.ts';
import { createSession, credentialsFromEnv, loadCredentials } from '../../src/identity/index.ts';
import { listPorts } from '../../src/plug/index.ts';
import { DEVICE_OWNER } from '../../src/resources/index.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import type { HarnessResult } from '../support/cni.ts';
import type { TestEnv } from '../support/env.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';
import { makePki, type Pki } from '../support/pki.ts';

const dir = mkdtempSync(join(tmpdir(), 'nntt-'));
const cid = () => randomBytes(16).toString('hex');

interface TlsProxy {
  url: string;
  /** TCP connections accepted, handshakes that failed, HTTP requests served. */
  connections: number;
  handshakeFailures: number;
  requests: { keystone: number; neutron: number };
  reset(): void;
  close(): Promise<void>;
}

/** HTTPS in front of Keystone (paths /v3…) and Neutron (everything else). */
async function startTlsProxy(env: TestEnv, pki: Pki, requireClientCert: boolean): Promise<TlsProxy> {
  const keystone = new URL(env.keystoneUrl);
  const neutron = new URL(env.neutronUrl);
  const p: TlsProxy = {
    url: '',
    connections: 0,
    handshakeFailures: 0,
    requests: { keystone: 0, neutron: 0 },
    reset() {
      p.connections = 0;
      p.handshakeFailures = 0;
      p.requests = { keystone: 0, neutron: 0 };
    },
    close: async () => {},
  };
  const server: Server = createHttpsServer(
    {
      cert: readFileSync(pki.serverCert),
      key: readFileSync(pki.serverKey),
      ...(requireClientCert
        ? { requestCert: true, rejectUnauthorized: true, ca: readFileSync(pki.caCert) }
        : {}),
    },
    (req, res) => {
      const toKeystone = (req.url ?? '').startsWith('/v3');
      const up = toKeystone ? keystone : neutron;
      p.requests[toKeystone ? 'keystone' : 'neutron'] += 1;
      const fwd = httpRequest(
        {
          host: up.hostname,
          port: up.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: up.host },
        },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      fwd.on('error', () => res.destroy());
      req.pipe(fwd);
    },
  );
  server.on('connection', () => {
    p.connections += 1;
  });
  server.on('tlsClientError', () => {
    p.handshakeFailures += 1;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  p.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  p.close = () =>
    new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return p;
}

async function adminToken(env: TestEnv): Promise<string> {
  const s = createSession(loadCredentials({ file: env.cloudsYaml, cloud: env.cloud, env: {} }), {
    cacheDir: null,
  });
  return s.token();
}

async function keystone(env: TestEnv, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${env.keystoneUrl}${path}`, {
    method,
    headers: { 'x-auth-token': token, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 300 && !(method === 'DELETE' && res.status === 404))
    throw new Error(`Keystone ${method} ${path}: HTTP ${res.status}`);
  return text ? JSON.parse(text) : undefined;
}

describe('TLS towards Keystone and Neutron, as the openstack CLI does it', () => {
  let c: TestCluster;
  let pki: Pki;
  let plain: TlsProxy; // server certificate only
  let mutual: TlsProxy; // wants a client certificate signed by the CA
  const regions: Record<string, string> = {};
  const undo: (() => Promise<unknown>)[] = [];
  const pods: TestNetns[] = [];

  before(async () => {
    c = await startTestCluster({ prefix: 'nntt', backend: 'sqlite', cidr: '10.78.0.0/16' });
    pki = makePki(join(dir, 'pki'));
    plain = await startTlsProxy(c.env, pki, false);
    mutual = await startTlsProxy(c.env, pki, true);
    undo.push(
      () => plain.close(),
      () => mutual.close(),
    );
    // A region per proxy whose network endpoint is the proxy: Neutron is reached over TLS too.
    const admin = await adminToken(c.env);
    const svc = (await keystone(c.env, admin, 'GET', '/services?type=network')).services[0];
    for (const [name, proxy] of [
      ['plain', plain],
      ['mutual', mutual],
    ] as const) {
      const region = `${c.name}-${name}`;
      await keystone(c.env, admin, 'POST', '/regions', { region: { id: region, description: 'nntt' } });
      undo.push(() => keystone(c.env, admin, 'DELETE', `/regions/${region}`));
      const ep = await keystone(c.env, admin, 'POST', '/endpoints', {
        endpoint: { service_id: svc.id, interface: 'public', url: proxy.url, region_id: region },
      });
      undo.push(() => keystone(c.env, admin, 'DELETE', `/endpoints/${ep.endpoint.id}`));
      regions[name] = region;
    }
  });
  after(async () => {
    for (const p of pods) p.remove();
    for (const u of undo.reverse()) await u().catch(() => undefined);
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A clouds.yaml (0600) with the admin user, Keystone behind `proxy`, and these TLS keys. */
  function cloudsYaml(proxy: TlsProxy, region: string, tls: Record<string, unknown>): string {
    const o = c.env.osEnv;
    const file = join(dir, `clouds-${randomBytes(3).toString('hex')}.yaml`);
    const cloud = {
      auth: {
        auth_url: `${proxy.url}/v3`,
        username: o.OS_USERNAME,
        password: o.OS_PASSWORD,
        project_name: o.OS_PROJECT_NAME,
        user_domain_id: o.OS_USER_DOMAIN_ID ?? 'default',
        project_domain_id: o.OS_PROJECT_DOMAIN_ID ?? 'default',
      },
      region_name: region,
      ...tls,
    };
    writeFileSync(file, stringify({ clouds: { tls: cloud } }), { mode: 0o600 });
    return file;
  }

  function cni(command: 'ADD' | 'DEL', file: string, id: string, netns: string): Promise<HarnessResult> {
    const conf = {
      ...c.rt.plugin,
      credentials: { cloudsYaml: file, cloud: 'tls' },
      // A cache of its own per case: every case authenticates through its proxy.
      tokenCacheDir: join(dir, `tokens-${file.slice(-10)}`),
    };
    return c.rt.directAsync(
      {
        CNI_COMMAND: command,
        CNI_CONTAINERID: id,
        CNI_NETNS: netns,
        CNI_IFNAME: 'eth0',
        CNI_ARGS: `K8S_POD_NAMESPACE=tls;K8S_POD_NAME=p${id.slice(0, 6)}`,
      },
      JSON.stringify(conf),
    );
  }

  async function assertNoLeaks(): Promise<void> {
    const ports = await c.neutron.ports.list({ networkId: c.network.id, deviceOwner: DEVICE_OWNER });
    const ovs = await listPorts(c.node.plugSettings());
    const rows = await c.store.attachments.list({ node: c.name });
    assert.deepEqual(
      { neutron: ports.map((p) => p.id), ovs: ovs.map((p) => p.name), rows: rows.map((r) => r.containerId) },
      { neutron: [], ovs: [], rows: [] },
    );
  }

  async function addAndDel(file: string, proxy: TlsProxy): Promise<void> {
    const p = createNetns('nntt');
    pods.push(p);
    const id = cid();
    proxy.reset();
    const add = await cni('ADD', file, id, p.path);
    assert.equal(add.code, 0, `ADD: ${add.stdout}`);
    assert.ok(proxy.requests.keystone > 0 && proxy.requests.neutron > 0, JSON.stringify(proxy.requests));
    const del = await cni('DEL', file, id, p.path);
    assert.equal(del.code, 0, `DEL: ${del.stdout}`);
    await assertNoLeaks();
  }

  test('without the CA: ADD fails at once with code 112 (TLS, not "unreachable"), one handshake, no retry, nothing left', async () => {
    const file = cloudsYaml(plain, regions.plain!, {});
    const p = createNetns('nntt');
    pods.push(p);
    plain.reset();
    const r = await cni('ADD', file, cid(), p.path);
    assert.equal(r.code, 1, r.stdout);
    const err = JSON.parse(r.stdout);
    assert.equal(err.code, 112, r.stdout);
    assert.match(
      err.msg,
      /TLS with Keystone at https:\/\/127\.0\.0\.1:\d+\/v3 failed: the server's certificate is not trusted/,
    );
    assert.doesNotMatch(err.msg, /unreachable|did not answer/);
    assert.equal(plain.connections, 1, 'one connection: the TLS failure is not retried');
    assert.equal(plain.requests.keystone + plain.requests.neutron, 0);
    await assertNoLeaks();
  });

  test('Keystone in clear but Neutron behind an untrusted certificate: code 112 from Neutron, not retried', async () => {
    const file = cloudsYaml(plain, regions.plain!, {});
    writeFileSync(file, readFileSync(file, 'utf8').replace(`${plain.url}/v3`, c.env.keystoneUrl), {
      mode: 0o600,
    });
    const p = createNetns('nntt');
    pods.push(p);
    plain.reset();
    const r = await cni('ADD', file, cid(), p.path);
    const err = JSON.parse(r.stdout);
    assert.equal(err.code, 112, r.stdout);
    assert.match(
      err.msg,
      /TLS with Neutron at https:\/\/127\.0\.0\.1:\d+ failed: the server's certificate is not trusted/,
    );
    assert.equal(plain.connections, 1, 'one connection: Neutron calls are not retried on a TLS failure');
    await assertNoLeaks();
  });

  test('with cacert: ADD and DEL work over TLS to Keystone and Neutron', async () => {
    await addAndDel(cloudsYaml(plain, regions.plain!, { cacert: pki.caCert }), plain);
  });

  test('insecure: true (and verify: false) skip verification: ADD and DEL work without the CA', async () => {
    await addAndDel(cloudsYaml(plain, regions.plain!, { insecure: true }), plain);
    await addAndDel(cloudsYaml(plain, regions.plain!, { verify: false, cacert: pki.otherCaCert }), plain);
  });

  test('a server that wants a client certificate: works with cert/key, code 112 without', async () => {
    const withCert = cloudsYaml(mutual, regions.mutual!, {
      cacert: pki.caCert,
      cert: pki.clientCert,
      key: pki.clientKey,
    });
    await addAndDel(withCert, mutual);
    const p = createNetns('nntt');
    pods.push(p);
    mutual.reset();
    const r = await cni('ADD', cloudsYaml(mutual, regions.mutual!, { cacert: pki.caCert }), cid(), p.path);
    const err = JSON.parse(r.stdout);
    assert.equal(err.code, 112, r.stdout);
    assert.match(err.msg, /client certificate/);
    assert.equal(mutual.connections, 1, 'one connection: not retried');
    await assertNoLeaks();
  });

  test('the OS_* forms: OS_CACERT, OS_INSECURE, OS_CERT/OS_KEY', async () => {
    const o = c.env.osEnv;
    const base = (proxy: TlsProxy) => ({
      OS_AUTH_URL: `${proxy.url}/v3`,
      OS_USERNAME: o.OS_USERNAME,
      OS_PASSWORD: o.OS_PASSWORD,
      OS_PROJECT_NAME: o.OS_PROJECT_NAME,
      OS_USER_DOMAIN_ID: o.OS_USER_DOMAIN_ID ?? 'default',
      OS_PROJECT_DOMAIN_ID: o.OS_PROJECT_DOMAIN_ID ?? 'default',
    });
    const token = (env: Record<string, string | undefined>) =>
      createSession(credentialsFromEnv(env), { cacheDir: null, authRetries: 2 }).token();
    await assert.rejects(token(base(plain)), (e) => e instanceof IdentityError && e.reason === 'tls');
    assert.ok(await token({ ...base(plain), OS_CACERT: pki.caCert }));
    assert.ok(await token({ ...base(plain), OS_INSECURE: 'true' }));
    assert.ok(
      await token({ ...base(mutual), OS_CACERT: pki.caCert, OS_CERT: pki.clientCert, OS_KEY: pki.clientKey }),
    );
    mutual.reset();
    await assert.rejects(
      token({ ...base(mutual), OS_CACERT: pki.caCert }),
      (e) => e instanceof IdentityError && e.reason === 'tls' && /client certificate/.test(e.message),
    );
    assert.equal(mutual.connections, 1, 'authRetries does not apply to TLS failures');
  });
});
