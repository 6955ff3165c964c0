import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PlugError } from '../errors/index.ts';
import { enterArgv, ipBatch, parseBatchFailures } from './netns.ts';

test('ip -batch failures are attributed to the command that failed', () => {
  const cmds = [
    ['link', 'set', 'dev', 'a', 'up'],
    ['link', 'del', 'dev', 'b'],
    ['route', 'add', 'x'],
  ];
  const stderr =
    'Cannot find device "b"\nCommand failed -:2\nError: any valid prefix is expected rather than "x".\nCommand failed -:3\n';
  assert.deepEqual(parseBatchFailures(cmds, stderr), [
    { command: 'link del dev b', message: 'Cannot find device "b"' },
    { command: 'route add x', message: 'Error: any valid prefix is expected rather than "x".' },
  ]);
});

test('ip arguments with whitespace or quotes are refused before anything runs', async () => {
  await assert.rejects(
    ipBatch(undefined, [['link', 'set', 'dev', 'eth0 up; reboot']]),
    (e: unknown) => e instanceof PlugError && e.reason === 'link' && /unsafe/.test(e.message),
  );
});

test('ip enters a named netns itself; other tools and other nsfs paths go through nsenter', () => {
  assert.deepEqual(enterArgv('/var/run/netns/pod1', ['ip', '-batch', '-']), [
    'ip',
    '-n',
    'pod1',
    '-batch',
    '-',
  ]);
  assert.deepEqual(enterArgv('/run/netns/pod1', ['ip', 'link']), ['ip', '-n', 'pod1', 'link']);
  assert.deepEqual(enterArgv('/proc/42/ns/net', ['ip', 'link']), [
    'nsenter',
    '--net=/proc/42/ns/net',
    '--',
    'ip',
    'link',
  ]);
  assert.deepEqual(enterArgv('/var/run/netns/pod1', ['ethtool', '-K', 'x']), [
    'nsenter',
    '--net=/var/run/netns/pod1',
    '--',
    'ethtool',
    '-K',
    'x',
  ]);
  assert.deepEqual(enterArgv(undefined, ['ip', 'link']), ['ip', 'link']);
});
