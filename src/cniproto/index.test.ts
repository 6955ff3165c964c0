import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LATEST_VERSION, SUPPORTED_VERSIONS } from '../cni/spec.ts';
import {
  clientConfig,
  cniEnv,
  DEFAULT_AGENT_SOCKET,
  encodeLine,
  parseAnswer,
  parseRequest,
  SUPPORTED_VERSIONS as WIRE_VERSIONS,
} from './index.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

test('the thin plugin speaks the versions the plugin does (one list)', () => {
  assert.deepEqual(WIRE_VERSIONS, SUPPORTED_VERSIONS);
  assert.equal(LATEST_VERSION, '1.1.0');
});

test('only CNI_* variables are forwarded', () => {
  assert.deepEqual(
    cniEnv({ CNI_COMMAND: 'ADD', PATH: '/bin', NNET_FAULT_KILL_AFTER: 'port', CNI_ARGS: '' }),
    {
      CNI_COMMAND: 'ADD',
      CNI_ARGS: '',
    },
  );
});

test('a request line round-trips; anything else is refused with the reason', () => {
  const line = encodeLine({
    v: 1,
    env: { CNI_COMMAND: 'DEL' },
    stdin: Buffer.from('{}\n').toString('base64'),
  });
  assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
  assert.deepEqual(parseRequest(line), { v: 1, env: { CNI_COMMAND: 'DEL' }, stdin: 'e30K' });
  const problem = (l: string) => (parseRequest(l) as { problem: string }).problem;
  assert.equal(problem('{'), 'it is not JSON');
  assert.equal(problem('[1]'), 'it is not a JSON object');
  assert.match(problem('{"v":2,"env":{},"stdin":""}'), /protocol version 2, not 1/);
  assert.match(problem('{"v":1,"env":{"CNI_X":1},"stdin":""}'), /not an object of strings/);
  assert.match(problem('{"v":1,"env":{"HOME":"/"},"stdin":""}'), /not CNI_/);
  assert.match(problem('{"v":1,"env":{},"stdin":"!!"}'), /not base64/);
});

test('an answer line round-trips; a foreign one is not an answer', () => {
  assert.deepEqual(parseAnswer(encodeLine({ v: 1, code: 0, stdout: '{"a":1}\n' })), {
    v: 1,
    code: 0,
    stdout: '{"a":1}\n',
  });
  assert.equal(parseAnswer('{"v":1,"code":"0","stdout":""}'), undefined);
  assert.equal(parseAnswer('HTTP/1.1 400'), undefined);
});

test('the client takes the socket, node and version from the config, and defaults for anything odd', () => {
  assert.deepEqual(
    clientConfig(bytes('{"agentSocket":"/tmp/a.sock","nodeName":"n1","cniVersion":"1.0.0","cluster":"c"}')),
    { agentSocket: '/tmp/a.sock', nodeName: 'n1', cniVersion: '1.0.0' },
  );
  for (const odd of [
    '',
    'not json',
    '[]',
    '{"agentSocket":"relative.sock","cniVersion":"9.9.9","nodeName":""}',
  ])
    assert.deepEqual(clientConfig(bytes(odd)), {
      agentSocket: DEFAULT_AGENT_SOCKET,
      nodeName: undefined,
      cniVersion: '1.1.0',
    });
});
