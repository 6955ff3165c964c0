import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { IdentityError } from '../errors/index.ts';
import type { Cluster } from '../store/index.ts';
import { clusterCredentials } from './cluster.ts';

const dir = mkdtempSync(join(tmpdir(), 'nnet-cluster-creds-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const clouds = `clouds:
  k8s:
    auth: {auth_url: "http://keystone.example:5000/v3", username: u, password: hunter2, project_name: p, user_domain_id: default, project_domain_id: default}
    region_name: RegionOne
`;
const cluster = (path: string): Cluster => ({
  name: 'prod',
  authUrl: 'http://keystone.example:5000/v3',
  interface: 'internal',
  credentials: { type: 'node-file', path, cloud: 'k8s' },
  createdAt: new Date().toISOString(),
});

test("a node-file reference is read from this node's file, with the record's interface", () => {
  const f = join(dir, 'ok.yaml');
  writeFileSync(f, clouds, { mode: 0o600 });
  const c = clusterCredentials(cluster(f));
  assert.equal(c.method, 'password');
  assert.equal(c.method === 'password' && c.password, 'hunter2');
  assert.equal(c.regionName, 'RegionOne');
  assert.equal(c.interface, 'internal');
});

test('a node-file open to others, missing, or not a file is refused, naming the path and never the secret', () => {
  const open = join(dir, 'open.yaml');
  writeFileSync(open, clouds);
  chmodSync(open, 0o644);
  const refused = (path: string, why: RegExp) =>
    assert.throws(
      () => clusterCredentials(cluster(path)),
      (e: unknown) =>
        e instanceof IdentityError &&
        e.reason === 'no-credentials' &&
        why.test(e.message) &&
        e.message.includes(path) &&
        !e.message.includes('hunter2'),
    );
  refused(open, /open to others \(mode 644/);
  refused(join(dir, 'absent.yaml'), /this node has none \(ENOENT\)/);
  refused(dir, /not a regular file/);
});
