/**
 * etcd clusters of a test's own on loopback (never the shared one on 2379): 1 or 3 members,
 * optionally with client TLS (a private CA, see pki.ts), client-certificate checking and
 * authentication (a root user and a user whose role may only touch one prefix). Members are
 * started as this process's children and stopped by their PIDs, like scripts/env/etcd-up.sh does
 * for the environment's etcd.
 *
 *   const etcd = await startEtcd({ name: 'nnte', dir, members: 3, pki });
 *   const auth = etcd.enableAuth({ prefix: '/nnte-x', user: 'nnet' });
 *   const url = etcd.storeUrl('/nnte-x', auth);  // etcd:https://…,https://…?prefix=…&cacert=…&user=…&password-file=…
 *   await etcd.members[0].kill();
 *   await etcd.stop();
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pki } from './pki.ts';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  pid: number;
  log: string;
  alive(): boolean;
  /** SIGKILL by PID, and wait until it is gone. */
  kill(): Promise<void>;
}

export interface EtcdUserAuth {
  user: string;
  passwordFile: string;
  password: string;
}

export interface TestEtcd {
  endpoints: string[];
  members: EtcdMember[];
  pki: Pki | undefined;
  rootPassword: string | undefined;
  /** etcdctl against the live members (as root once auth is on); throws with stderr on failure. */
  etcdctl(args: string[], input?: string): string;
  /** Root user, a role limited to `prefix`/, a user with that role; then auth enable. */
  enableAuth(o: { prefix: string; user: string }): EtcdUserAuth;
  /** The store URL of `prefix` on these members (TLS files and auth as given). */
  storeUrl(prefix: string, auth?: EtcdUserAuth, o?: { clientCert?: boolean; ca?: string }): string;
  stop(): Promise<void>;
}

export interface StartEtcdOptions {
  /** Member names start with it (e.g. 'nnte-3f9a'). */
  name: string;
  dir: string;
  members?: 1 | 3;
  /** With it, clients speak https with the PKI's server certificate. */
  pki?: Pki;
  /** Members require a client certificate signed by the PKI's CA. */
  clientCertAuth?: boolean;
  /** --auth-token-ttl (simple tokens), seconds. */
  tokenTtlS?: number;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

export async function startEtcd(o: StartEtcdOptions): Promise<TestEtcd> {
  const count = o.members ?? 1;
  const scheme = o.pki ? 'https' : 'http';
  const specs = [];
  for (let i = 0; i < count; i++)
    specs.push({ name: `${o.name}-m${i}`, client: await freePort(), peer: await freePort() });
  const cluster = specs.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
  const token = randomBytes(4).toString('hex');
  const children: ChildProcess[] = [];
  const members: EtcdMember[] = specs.map((m) => {
    const dataDir = join(o.dir, m.name);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const log = join(o.dir, `${m.name}.log`);
    const clientUrl = `${scheme}://127.0.0.1:${m.client}`;
    const args = [
      '--name',
      m.name,
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      clientUrl,
      '--advertise-client-urls',
      clientUrl,
      '--listen-peer-urls',
      `http://127.0.0.1:${m.peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${m.peer}`,
      '--initial-cluster',
      cluster,
      '--initial-cluster-token',
      `${o.name}-${token}`,
      '--initial-cluster-state',
      'new',
      ...(o.pki ? ['--cert-file', o.pki.serverCert, '--key-file', o.pki.serverKey] : []),
      ...(o.pki && o.clientCertAuth ? ['--client-cert-auth', '--trusted-ca-file', o.pki.caCert] : []),
      ...(o.tokenTtlS ? ['--auth-token-ttl', String(o.tokenTtlS)] : []),
    ];
    const fd = openSync(log, 'a');
    const child = spawn('etcd', args, { stdio: ['ignore', fd, fd] });
    children.push(child);
    return {
      name: m.name,
      clientUrl,
      pid: child.pid!,
      log,
      alive: () => !exited(child),
      kill: async () => {
        if (exited(child)) return;
        const gone = new Promise((r) => child.once('exit', r));
        process.kill(child.pid!, 'SIGKILL');
        await gone;
      },
    };
  });
  let rootPassword: string | undefined;
  const tlsArgs = () =>
    o.pki ? ['--cacert', o.pki.caCert, '--cert', o.pki.clientCert, '--key', o.pki.clientKey] : [];
  const etcdctl = (args: string[], input?: string) =>
    execFileSync(
      'etcdctl',
      [
        `--endpoints=${members
          .filter((m) => m.alive())
          .map((m) => m.clientUrl)
          .join(',')}`,
        ...tlsArgs(),
        ...(rootPassword ? [`--user=root:${rootPassword}`] : []),
        ...args,
      ],
      { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, input, stdio: ['pipe', 'pipe', 'pipe'] },
    );
  const etcd: TestEtcd = {
    endpoints: members.map((m) => m.clientUrl),
    members,
    pki: o.pki,
    get rootPassword() {
      return rootPassword;
    },
    etcdctl,
    enableAuth({ prefix, user }) {
      const root = randomBytes(12).toString('hex');
      const password = randomBytes(12).toString('hex');
      const role = `${user}-rw`;
      etcdctl(['user', 'add', 'root', `--new-user-password=${root}`]);
      etcdctl(['user', 'grant-role', 'root', 'root']);
      etcdctl(['role', 'add', role]);
      etcdctl(['role', 'grant-permission', role, 'readwrite', `${prefix}/`, '--prefix=true']);
      etcdctl(['user', 'add', user, `--new-user-password=${password}`]);
      etcdctl(['user', 'grant-role', user, role]);
      etcdctl(['auth', 'enable']);
      rootPassword = root;
      const passwordFile = join(o.dir, `${user}.password`);
      writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
      return { user, passwordFile, password };
    },
    storeUrl(prefix, auth, u = {}) {
      const params = new URLSearchParams({ prefix });
      if (o.pki) params.set('cacert', u.ca ?? o.pki.caCert);
      if (o.pki && (u.clientCert ?? o.clientCertAuth)) {
        params.set('cert', o.pki.clientCert);
        params.set('key', o.pki.clientKey);
      }
      if (auth) {
        params.set('user', auth.user);
        params.set('password-file', auth.passwordFile);
      }
      return `etcd:${members.map((m) => m.clientUrl).join(',')}?${params.toString().replaceAll('%2F', '/')}`;
    },
    async stop() {
      for (const m of members) await m.kill().catch(() => undefined);
    },
  };
  try {
    await waitHealthy(etcd);
  } catch (e) {
    await etcd.stop();
    throw e;
  }
  return etcd;
}

async function waitHealthy(etcd: TestEtcd): Promise<void> {
  let last = '';
  for (let i = 0; i < 300; i++) {
    if (etcd.members.some((m) => !m.alive()))
      throw new Error(`etcd member exited during start-up; see ${etcd.members.map((m) => m.log).join(', ')}`);
    try {
      etcd.etcdctl(['endpoint', 'health', '--cluster=false']);
      return;
    } catch (e) {
      last = String((e as { stderr?: string }).stderr ?? e);
    }
    await sleep(100);
  }
  throw new Error(`etcd did not become healthy: ${last}`);
}
