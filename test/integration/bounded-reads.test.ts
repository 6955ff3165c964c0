/**
 * Replies are read up to a cap: a loopback server that streams a 400 MiB reply as Keystone, as
 * Neutron (after a real-looking token whose catalog points at it) and as etcd. The agent's CNI
 * entry runs ADD against it in a child process: it fails with code 113 naming the service and the cap, asks once (no retry, no re-read by the etcd migration loop), and its peak RSS
 * (VmHWM from /proc/self/status, written by a preload when it exits) stays under 300 MB.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { PROJECT_ROOT } from '../support/env.ts';
import { createNetns, type TestNetns } from '../support/netns.ts';

const AGENT_REQUEST = join(PROJECT_ROOT, 'test/support/agent-request.ts');
const HUGE = 400 * 1024 * 1024;
const RSS_LIMIT_KB = 300 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'nntb-'));
const figures: Record<string, { code: number; vmHwmKb: number; requests: number }> = {};
after(() => console.log(`bounded-reads: ${JSON.stringify(figures)}`));

/** Writes `HUGE` bytes of one JSON string as fast as the client reads, and stops when it hangs up. */
function streamHuge(res: ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'application/json', ...headers });
  const chunk = Buffer.alloc(1024 * 1024, 'a');
  let sent = 0;
  res.write('{"padding":"');
  const pump = () => {
    while (sent < HUGE) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end('"}');
  };
  res.on('close', () => {
    sent = HUGE + 1;
  });
  pump();
}

interface Stub {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

async function startStub(role: 'keystone' | 'neutron' | 'etcd'): Promise<Stub> {
  const stub: Stub = { url: '', requests: [], close: async () => {} };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    stub.requests.push(`${req.method} ${req.url}`);
    req.resume();
    if (role === 'neutron' && req.method === 'POST' && req.url === '/v3/auth/tokens') {
      const expires = new Date(Date.now() + 3600_000).toISOString();
      res.writeHead(201, { 'content-type': 'application/json', 'x-subject-token': 'gAAAAAstubtoken' });
      res.end(
        JSON.stringify({
          token: {
            expires_at: expires,
            issued_at: new Date().toISOString(),
            user: { id: 'u1', name: 'nnet' },
            project: { id: 'p1', name: 'nnet', domain: { id: 'default' } },
            catalog: [
              {
                type: 'network',
                name: 'neutron',
                endpoints: [
                  { interface: 'public', region: 'RegionOne', region_id: 'RegionOne', url: stub.url },
                ],
              },
            ],
          },
        }),
      );
      return;
    }
    streamHuge(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () =>
    new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return stub;
}

// Records the process's peak RSS on stderr as it exits.
const PRELOAD = join(dir, 'vmhwm.cjs');
writeFileSync(
  PRELOAD,
  `process.on('exit', () => {
    const fs = require('node:fs');
    const m = /VmHWM:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    fs.writeSync(2, 'nntb-vmhwm-kb=' + (m ? m[1] : '?') + '\\n');
  });\n`,
);

interface Run {
  code: number;
  json: { code?: number; msg?: string };
  vmHwmKb: number;
}

function runAdd(conf: Record<string, unknown>, netns: string): Promise<Run> {
  return new Promise((resolve) => {
    // ADD as nnet-agent serves it (the thin nnet only forwards it): the agent's memory is measured.
    const child = spawn(process.execPath, ['--require', PRELOAD, '--import', 'tsx', AGENT_REQUEST], {
      env: {
        PATH: process.env.PATH ?? '',
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: randomBytes(16).toString('hex'),
        CNI_NETNS: netns,
        CNI_IFNAME: 'eth0',
        CNI_ARGS: 'K8S_POD_NAMESPACE=nntb;K8S_POD_NAME=huge',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('close', (code) => {
      const m = /nntb-vmhwm-kb=(\d+)/.exec(err);
      let json = {};
      try {
        json = JSON.parse(out);
      } catch {}
      resolve({ code: code ?? 1, json, vmHwmKb: m ? Number(m[1]) : Number.NaN });
    });
    child.stdin.end(JSON.stringify(conf));
  });
}

describe('a 400 MiB reply is cut at the cap, the plugin fails with code 113 and stays small', () => {
  let pod: TestNetns;
  before(() => {
    pod = createNetns('nntb');
  });
  after(() => {
    pod?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const conf = (extra: Record<string, unknown>) => ({
    cniVersion: '1.0.0',
    name: 'nntb',
    type: 'nnet',
    cluster: 'nntb',
    network: 'nntb-net',
    logFile: join(dir, 'nnet.log'),
    tokenCacheDir: join(dir, `tokens-${randomBytes(3).toString('hex')}`),
    store: `sqlite:${join(dir, 'nnet.db')}`,
    timeouts: { totalMs: 120_000 },
    ...extra,
  });

  function clouds(authUrl: string): string {
    const file = join(dir, `clouds-${randomBytes(3).toString('hex')}.yaml`);
    const cloud = {
      auth: {
        auth_url: authUrl,
        username: 'nnet',
        password: 'not-a-real-password',
        project_name: 'nnet',
        user_domain_id: 'default',
        project_domain_id: 'default',
      },
      region_name: 'RegionOne',
    };
    writeFileSync(file, stringify({ clouds: { huge: cloud } }), { mode: 0o600 });
    return file;
  }

  async function check(
    role: 'keystone' | 'neutron' | 'etcd',
    extra: (stub: Stub) => Record<string, unknown>,
    expected: RegExp,
  ): Promise<void> {
    const stub = await startStub(role);
    try {
      const r = await runAdd(conf(extra(stub)), pod.path);
      figures[role] = { code: Number(r.json.code), vmHwmKb: r.vmHwmKb, requests: stub.requests.length };
      assert.equal(r.json.code, 113, JSON.stringify(r.json));
      assert.match(String(r.json.msg), expected);
      assert.ok(Number.isFinite(r.vmHwmKb), 'the preload reported VmHWM');
      assert.ok(r.vmHwmKb < RSS_LIMIT_KB, `peak RSS ${r.vmHwmKb} kB ≥ ${RSS_LIMIT_KB} kB`);
    } finally {
      await stub.close();
    }
  }

  test('as Keystone: code 113 naming Keystone and its 8 MiB cap, one POST, peak RSS < 300 MB', async () => {
    let requests: string[] = [];
    await check(
      'keystone',
      (stub) => {
        requests = stub.requests;
        return { credentials: { cloudsYaml: clouds(`${stub.url}/v3`), cloud: 'huge' } };
      },
      /Keystone at http:\/\/127\.0\.0\.1:\d+\/v3 sent a reply to POST \/auth\/tokens larger than N-Net's cap of 8 MiB/,
    );
    assert.deepEqual(requests, ['POST /v3/auth/tokens'], 'asked once: not retried');
  });

  test('as Neutron: code 113 naming Neutron and its 64 MiB cap for lists, one GET, peak RSS < 300 MB', async () => {
    let requests: string[] = [];
    await check(
      'neutron',
      (stub) => {
        requests = stub.requests;
        return { credentials: { cloudsYaml: clouds(`${stub.url}/v3`), cloud: 'huge' } };
      },
      /Neutron at http:\/\/127\.0\.0\.1:\d+ sent a reply to GET \/v2\.0\/[a-z-]+.* larger than N-Net's cap of 64 MiB for lists/,
    );
    assert.equal(requests.filter((r) => r.startsWith('GET /v2.0')).length, 1, `not retried: ${requests}`);
  });

  test('as etcd: code 113 naming etcd and its 32 MiB cap, one request (the migration loop does not re-read), peak RSS < 300 MB', async () => {
    let requests: string[] = [];
    await check(
      'etcd',
      (stub) => {
        requests = stub.requests;
        return { store: `etcd:${stub.url}` };
      },
      /etcd http:\/\/127\.0\.0\.1:\d+ sent a reply to kv\/range larger than N-Net's cap of 32 MiB/,
    );
    assert.deepEqual(requests, ['POST /v3/kv/range'], 'read once');
  });
});
