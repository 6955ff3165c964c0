import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeployError } from '../errors/index.ts';
import { ipBatch, parseBatchFailures } from './netns.ts';

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
    (e: unknown) => e instanceof DeployError && e.reason === 'link' && /unsafe/.test(e.message),
  );
});
