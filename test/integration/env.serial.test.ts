/**
 * The test environment's own scripts: `up` while up is quick and harmless; `down` stops exactly the
 * processes `up` recorded (and nothing else); `up` afterwards brings everything back. Serial: it
 * stops the services every other test uses.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureEnv, PROJECT_ROOT } from '../support/env.ts';

const PIDFILES = [
  'openstack/mysql/run/mysqld.pid',
  'openstack/ovn/ovnnb_db.pid',
  'openstack/ovn/ovnsb_db.pid',
  'openstack/ovn/ovn-northd.pid',
  'openstack/keystone/uwsgi.pid',
  'openstack/neutron/neutron-server.pid',
  'etcd/etcd.pid',
];

function script(name: string, env: Record<string, string> = {}) {
  const t0 = Date.now();
  const r = spawnSync('bash', [join(PROJECT_ROOT, 'scripts/env', name)], {
    encoding: 'utf8',
    env: { ...process.env, NNET_SKIP_INSTALL: '1', ...env },
    timeout: 300_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, ms: Date.now() - t0 };
}

function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z';
  } catch {
    return false;
  }
}

test('env up while up starts nothing new; down stops exactly what up started; up again brings it back', async () => {
  const env = ensureEnv();
  const pidsOf = () => PIDFILES.map((f) => Number(readFileSync(join(env.dir, f), 'utf8').trim()));
  const first = pidsOf();
  const again = script('up.sh');
  assert.equal(again.code, 0, again.out);
  console.log(`env: up while up took ${again.ms} ms`);
  assert.deepEqual(pidsOf(), first, 'up while up kept the running services (same PIDs)');
  assert.ok(first.every(running), 'and they still run');

  const pids = pidsOf();
  // A process of someone else's, running the same kind of program: down must leave it alone.
  const bystander = spawn('sleep', ['300'], { stdio: 'ignore' });
  try {
    const down = script('down.sh');
    assert.equal(down.code, 0, down.out);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && pids.some(running)) await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      pids.filter(running).map(String),
      [],
      'processes up started are still running after down',
    );
    assert.ok(running(bystander.pid!), 'down touched a process it did not start');
    const status = script('status.sh');
    assert.notEqual(status.code, 0, 'status reports the environment down');
  } finally {
    bystander.kill();
    const up = script('up.sh');
    assert.equal(up.code, 0, up.out);
  }
  const status = script('status.sh');
  assert.equal(status.code, 0, status.out);
  // Neutron answers again (with a token from Keystone): the services work, not just run.
  const r = spawnSync(
    'bash',
    ['-c', `. ${env.openrc} && openstack --os-network-api-version 2 network list -f value -c ID >/dev/null`],
    {
      encoding: 'utf8',
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    },
  );
  assert.equal(r.status, 0, r.stderr);
});
