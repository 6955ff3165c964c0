import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { InputError } from '../errors/index.ts';
import { parseNodeConfig } from './config.ts';
import { checkCredentialsReference } from './credentials.ts';

const dir = mkdtempSync(join(tmpdir(), 'nnt-agent-creds-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const CLOUDS = join(dir, 'clouds.yaml');
writeFileSync(
  CLOUDS,
  'clouds:\n  nnet:\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      username: u\n      password: p\n      project_name: x\n      user_domain_name: Default\n      project_domain_name: Default\n',
);
const conf = (credentials?: unknown) =>
  parseNodeConfig(
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'n',
      plugins: [{ type: 'nnet', cluster: 'c', credentials }],
    }),
    '/etc/cni/net.d/10-nnet.conflist',
    'node-1',
  );

test('a readable credentials file holding the named cloud passes', async () => {
  checkCredentialsReference(await conf({ cloudsYaml: CLOUDS, cloud: 'nnet' }), 'f', { required: true });
});

test('a referenced file that is missing stops the agent with a message naming it and the config', async () => {
  const missing = join(dir, 'absent', 'clouds.yaml');
  const c = await conf({ cloudsYaml: missing, cloud: 'nnet' });
  assert.throws(
    () => checkCredentialsReference(c, '/etc/cni/net.d/10-nnet.conflist', { required: false }),
    (e: unknown) =>
      e instanceof InputError &&
      e.message.includes(`the credentials file ${missing} that the CNI config`) &&
      e.message.includes('does not exist') &&
      e.message.includes('/etc/cni/net.d/10-nnet.conflist'),
  );
});

test('a file without the named cloud is refused', async () => {
  const c = await conf({ cloudsYaml: CLOUDS, cloud: 'other' });
  assert.throws(() => checkCredentialsReference(c, 'f', { required: false }), /cloud "other" not found in/);
});

test('no reference at all is refused only when credentials are required', async () => {
  const c = await conf(undefined);
  checkCredentialsReference(c, 'f', { required: false });
  assert.throws(
    () => checkCredentialsReference(c, '/etc/cni/net.d/10-nnet.conflist', { required: true }),
    /\/etc\/cni\/net.d\/10-nnet.conflist has no "credentials" reference .* --require-credentials is set/,
  );
});
