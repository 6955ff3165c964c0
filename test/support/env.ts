/**
 * The real test environment (Keystone, Neutron/OVN, MariaDB, etcd) that scripts/env/up.sh starts.
 * ensureEnv() starts it when it is not running and reuses it when it is; it never stops it
 * (scripts/test.sh stops what it started).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface TestEnv {
  keystoneUrl: string; // http://127.0.0.1:5000/v3
  neutronUrl: string; // http://127.0.0.1:9696
  region: string;
  cloudsYaml: string; // 0600 clouds.yaml with cloud `cloud`
  cloud: string;
  /** The clouds.yaml entry of the env's least-privilege user: member (+ nnet-node) of nnet-ci. */
  memberCloud: string;
  openrc: string;
  ovnNb: string; // unix:/…/ovnnb_db.sock
  ovnSb: string;
  etcdUrl: string; // http://127.0.0.1:2379
  /** Admin credentials as OS_* variables (read from openrc; never print them). */
  osEnv: Record<string, string>;
  /** Directory with the env's state (logs: openstack/keystone/log, openstack/neutron/log). */
  dir: string;
}

let cached: TestEnv | undefined;

export function ensureEnv(): TestEnv {
  if (cached) return cached;
  execFileSync('bash', [join(PROJECT_ROOT, 'scripts/env/up.sh')], {
    env: { ...process.env, NNET_SKIP_INSTALL: '1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const dir = join(PROJECT_ROOT, '.lab/env');
  const ep = JSON.parse(readFileSync(join(dir, 'openstack/endpoints.json'), 'utf8'));
  const osEnv: Record<string, string> = {};
  for (const line of readFileSync(ep.openrc, 'utf8').split('\n')) {
    const m = /^export (OS_[A-Z_]+)=(.*)$/.exec(line);
    if (m) osEnv[m[1]!] = m[2]!;
  }
  cached = {
    keystoneUrl: ep.keystone,
    neutronUrl: ep.neutron,
    region: ep.region,
    cloudsYaml: ep.clouds_yaml,
    cloud: ep.cloud,
    memberCloud: ep.member_cloud,
    openrc: ep.openrc,
    ovnNb: ep.ovn_nb,
    ovnSb: ep.ovn_sb,
    etcdUrl: `http://127.0.0.1:${process.env.ETCD_PORT ?? '2379'}`,
    osEnv,
    dir,
  };
  return cached;
}

/** A token of the env's admin (project-scoped), straight from Keystone: for test set-up only. */
export async function adminToken(env: TestEnv): Promise<string> {
  const o = env.osEnv;
  const res = await fetch(`${env.keystoneUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: {
            user: {
              name: o.OS_USERNAME,
              domain: { id: o.OS_USER_DOMAIN_ID ?? 'default' },
              password: o.OS_PASSWORD,
            },
          },
        },
        scope: { project: { name: o.OS_PROJECT_NAME, domain: { id: o.OS_PROJECT_DOMAIN_ID ?? 'default' } } },
      },
    }),
  });
  await res.arrayBuffer();
  const token = res.headers.get('x-subject-token');
  if (res.status !== 201 || !token) throw new Error(`Keystone issued no admin token (HTTP ${res.status})`);
  return token;
}
