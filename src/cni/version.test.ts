import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../errors/index.ts';
import { CNI_COMMANDS, type CniCommand } from './spec.ts';
import { negotiateVersion, versionJson } from './version.ts';

test('VERSION reports 1.1.0 and the three supported versions, oldest first', () => {
  assert.deepEqual(versionJson(), { cniVersion: '1.1.0', supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });
});

test('which cniVersion allows which command', () => {
  const table: [string, CniCommand, 'ok' | 'unsupported-version'][] = [];
  for (const command of CNI_COMMANDS) {
    const newOnly = command === 'GC' || command === 'STATUS';
    table.push(['0.4.0', command, newOnly ? 'unsupported-version' : 'ok']);
    table.push(['1.0.0', command, newOnly ? 'unsupported-version' : 'ok']);
    table.push(['1.1.0', command, 'ok']);
    table.push(['0.3.1', command, 'unsupported-version']);
    table.push(['1.2.0', command, 'unsupported-version']);
  }
  for (const [version, command, expected] of table) {
    if (expected === 'ok') assert.equal(negotiateVersion(version, command), version);
    else
      assert.throws(
        () => negotiateVersion(version, command),
        (e: unknown) => e instanceof InputError && e.reason === expected,
        `${version} ${command}`,
      );
  }
});

test('a missing or non-string cniVersion is an invalid config, not a version mismatch', () => {
  for (const v of [undefined, 1, null, ['1.0.0'], { v: 1 }])
    assert.throws(
      () => negotiateVersion(v, 'ADD'),
      (e: unknown) =>
        e instanceof InputError && e.reason === 'invalid-config' && /cniVersion/.test(e.message),
    );
});

test('the version error echoes a long version string only cut short', () => {
  try {
    negotiateVersion(`9.${'9'.repeat(5000)}`, 'ADD');
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof InputError);
    assert.ok(e.message.length < 300, `message is ${e.message.length} characters`);
  }
});
