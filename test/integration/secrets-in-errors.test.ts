/**
 * A secret inside malformed input never comes back out: every JSON/YAML parse of something that
 * may hold one (a credentials JSON, a clouds.yaml, an openrc, a store row, CNI stdin, Keystone's,
 * Neutron's and etcd's replies) is fed a secret in input its parser chokes on (or warns about),
 * through the built binaries, and the secret must appear in none of: the CNI result or error on
 * stdout, the plugin's stderr, its log file, kubenetctl's stdout and stderr (also with
 * NNET_DEBUG=1, which prints causes and details).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/index.ts';
import { PROJECT_ROOT } from '../support/env.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';

const KUBENETCTL = join(PROJECT_ROOT, 'dist/kubenetctl.js');
const dir = mkdtempSync(join(tmpdir(), 'nntx-'));
const AGENT_REQUEST = join(PROJECT_ROOT, 'test/support/agent-request.ts');
/**
 * One secret per case: 16 letters that no hex id, token or word of ours holds, so that any
 * 6-letter piece of it found in the output is a leak (a parser quotes only a window of the input).
 */
const secret = () => {
  const letters = 'GHJKMNPQRSTVWXYZ';
  return Array.from(randomBytes(16), (b) => letters[b % letters.length]).join('');
};

interface Output {
  code: number;
  stdout: string;
  stderr: string;
  log: string;
}

function assertNowhere(o: Output, s: string, what: string): void {
  const pieces = Array.from({ length: s.length - 5 }, (_, i) => s.slice(i, i + 6));
  for (const [where, text] of Object.entries({ stdout: o.stdout, stderr: o.stderr, log: o.log })) {
    const found = pieces.find((p) => text.includes(p));
    assert.ok(found === undefined, `${what}: "${found}" (a piece of the secret) is in ${where}: ${text}`);
  }
}

function runPlugin(conf: Record<string, unknown> | string, netns: string): Promise<Output> {
  const logFile = join(dir, `nnet-${randomBytes(3).toString('hex')}.log`);
  const body = typeof conf === 'string' ? conf : JSON.stringify({ logFile, ...conf });
  return new Promise((resolve) => {
    // As nnet-agent serves it: the thin nnet only forwards the request (see bounded-reads.test.ts).
    const child = spawn(process.execPath, ['--import', 'tsx', AGENT_REQUEST], {
      env: {
        PATH: process.env.PATH ?? '',
        NNTB_FALLBACK_LOG: join(dir, 'fallback.log'),
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: randomBytes(16).toString('hex'),
        CNI_NETNS: netns,
        CNI_IFNAME: 'eth0',
        CNI_ARGS: 'K8S_POD_NAMESPACE=nntx;K8S_POD_NAME=leak',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) =>
      resolve({
        code: code ?? 1,
        stdout,
        stderr,
        log: existsSync(logFile) ? readFileSync(logFile, 'utf8') : '',
      }),
    );
    child.stdin.end(body);
  });
}

function runKubenetctl(args: string[], env: Record<string, string>): Output {
  const home = join(dir, 'home');
  const r = spawnSync(process.execPath, [KUBENETCTL, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      NNET_STORE: `sqlite:${join(dir, 'cli.db')}`,
      NNET_TOKEN_CACHE_DIR: join(dir, 'cli-tokens'),
      NNET_DEBUG: '1',
      ...env,
    },
    encoding: 'utf8',
    input: '',
    timeout: 60_000,
  });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', log: '' };
}

/** A loopback server answering 200/201 with reply(its URL, the request path) (and a token header). */
async function stub(reply: (url: string, path: string) => string) {
  const server: Server = createServer((req, res) => {
    req.resume();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const auth = req.method === 'POST' && req.url === '/v3/auth/tokens';
    res.writeHead(auth ? 201 : 200, {
      'content-type': 'application/json',
      ...(auth ? { 'x-subject-token': 'gAAAAAstub' } : {}),
    });
    res.end(reply(url, req.url ?? '/'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** A malformed credentials JSON: the password's value is unquoted (JSON.parse quotes it back). */
const badJson = (s: string, authUrl = 'http://127.0.0.1:1/v3') =>
  `{"clouds": {"c": {"auth": {"auth_url": "${authUrl}", "username": "u", "password": ${s}", "project_name": "p"}}}}`;
/** A clouds.yaml that parses only with a warning (an unknown tag on the password). */
const warnYaml = (s: string, authUrl = 'http://127.0.0.1:1/v3') =>
  `clouds:\n  c:\n    auth:\n      auth_url: ${authUrl}\n      username: u\n      password: !secret ${s}\n      project_name: p\n      user_domain_id: default\n      project_domain_id: default\n`;
const goodYaml = (authUrl: string) => warnYaml('not-the-secret', authUrl).replace('!secret ', '');
/** A clouds.yaml broken right after the password (an unclosed quote on the next line). */
const badYaml = (s: string) => `clouds:\n  c:\n    auth:\n      password: ${s}\n      username: "u\n`;

describe('secrets inside malformed input appear nowhere', () => {
  let pod: TestNetns;
  const base = () => ({
    cniVersion: '1.0.0',
    name: 'nntx',
    type: 'nnet',
    cluster: 'nntx',
    network: 'nntx-net',
    store: `sqlite:${join(dir, 'nnet.db')}`,
    tokenCacheDir: join(dir, `tokens-${randomBytes(3).toString('hex')}`),
    timeouts: { totalMs: 30_000, keystoneMs: 2000 },
  });
  const file = (name: string, text: string) => {
    const path = join(dir, `${randomBytes(3).toString('hex')}-${name}`);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  before(() => {
    pod = createNetns('nntx');
  });
  after(() => {
    pod?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a malformed credentials JSON (the reported leak): code 6 naming the file, no secret', async () => {
    const s = secret();
    const creds = file('creds.json', badJson(s));
    const o = await runPlugin({ ...base(), credentials: { cloudsYaml: creds, cloud: 'c' } }, pod.path);
    assertNowhere(o, s, 'CNI, credentials JSON');
    assert.equal(JSON.parse(o.stdout).code, 6, o.stdout);
    assert.match(JSON.parse(o.stdout).msg, /credentials file .*creds\.json is not valid JSON/);
    const k = runKubenetctl(['create', 'cluster', 'k1', '--cloud', 'c', '--clouds-file', creds], {});
    assert.equal(k.code, 1, k.stderr);
    assertNowhere(k, s, 'kubenetctl, credentials JSON');
  });

  test('a broken clouds.yaml: no secret in the error (the yaml parser quotes the line)', async () => {
    const s = secret();
    const creds = file('clouds.yaml', badYaml(s));
    const o = await runPlugin({ ...base(), credentials: { cloudsYaml: creds, cloud: 'c' } }, pod.path);
    assert.equal(JSON.parse(o.stdout).code, 6, o.stdout);
    assertNowhere(o, s, 'CNI, broken clouds.yaml');
    const k = runKubenetctl(['get', 'networks'], { OS_CLIENT_CONFIG_FILE: creds, OS_CLOUD: 'c' });
    assert.equal(k.code, 1, k.stderr);
    assertNowhere(k, s, 'kubenetctl, broken clouds.yaml found by search');
  });

  test('a clouds.yaml the yaml parser warns about: no warning quoting the secret on stderr', async () => {
    const s = secret();
    const creds = file('clouds.yaml', warnYaml(s));
    const o = await runPlugin({ ...base(), credentials: { cloudsYaml: creds, cloud: 'c' } }, pod.path);
    assert.equal(JSON.parse(o.stdout).code, 11, o.stdout); // Keystone at 127.0.0.1:1 does not answer
    assertNowhere(o, s, 'CNI, clouds.yaml with a warning');
    const k = runKubenetctl(['get', 'networks'], { OS_CLIENT_CONFIG_FILE: creds, OS_CLOUD: 'c' });
    assert.equal(k.code, 1, k.stderr);
    assertNowhere(k, s, 'kubenetctl, clouds.yaml with a warning');
  });

  test('an openrc with garbage around the password: no secret', async () => {
    const s = secret();
    const rc = file(
      'openrc',
      `export OS_AUTH_URL=http://127.0.0.1:1/v3\nexport OS_PASSWORD='${s}\n{{{ "${s}\n`,
    );
    const o = await runPlugin({ ...base(), credentials: { openrc: rc } }, pod.path);
    assert.notEqual(o.code, 0);
    assertNowhere(o, s, 'CNI, openrc');
  });

  test('CNI stdin that is not JSON: code 6 at a byte offset, no secret', async () => {
    const s = secret();
    const o = await runPlugin(`{"cniVersion": "1.0.0", "type": "nnet", "password": ${s}"}`, pod.path);
    assert.equal(JSON.parse(o.stdout).code, 6, o.stdout);
    assertNowhere(o, s, 'CNI stdin');
  });

  test('a store row that is not JSON: code 105 naming the row, no secret', async () => {
    const s = secret();
    const db = join(dir, `rows-${randomBytes(3).toString('hex')}.db`);
    (await openStore(`sqlite:${db}`)).close();
    const sql = new Database(db);
    sql
      .prepare('INSERT INTO clusters (name, data) VALUES (?, ?)')
      .run('nntx', `{"name": "nntx", "credentials": {"type": "password", "password": ${s}"`);
    sql.close();
    const o = await runPlugin({ ...base(), store: `sqlite:${db}` }, pod.path);
    assert.equal(JSON.parse(o.stdout).code, 105, o.stdout);
    assertNowhere(o, s, 'CNI, store row');
  });

  test("Keystone's, Neutron's and etcd's malformed replies: no secret from them", async () => {
    const s = secret();
    const expires = new Date(Date.now() + 3600_000).toISOString();
    const token = (url: string) =>
      JSON.stringify({
        token: {
          expires_at: expires,
          user: { id: 'u' },
          catalog: [{ type: 'network', endpoints: [{ interface: 'public', region: 'RegionOne', url }] }],
        },
      });
    // Keystone answers garbage; then a Keystone that works, in front of a Neutron that answers garbage.
    for (const [what, reply] of [
      [
        'Keystone',
        (_url: string, path: string) => (path.startsWith('/v3') ? `{"token": {"expires_at": ${s}"` : ''),
      ],
      [
        'Neutron',
        (url: string, path: string) =>
          path.startsWith('/v3') ? token(url) : `{"networks": [{"name": ${s}"}`,
      ],
    ] as const) {
      const server = await stub(reply);
      try {
        const creds = file('clouds.yaml', goodYaml(`${server.url}/v3`));
        const o = await runPlugin({ ...base(), credentials: { cloudsYaml: creds, cloud: 'c' } }, pod.path);
        assert.notEqual(o.code, 0, o.stdout);
        assertNowhere(o, s, `CNI, ${what} reply`);
      } finally {
        await server.close();
      }
    }
    const etcd = await stub(() => `{"kvs": [{"key": ${s}"`);
    try {
      const o = await runPlugin({ ...base(), store: `etcd:${etcd.url}` }, pod.path);
      assert.notEqual(o.code, 0, o.stdout);
      assertNowhere(o, s, 'CNI, etcd reply');
    } finally {
      await etcd.close();
    }
  });
});
