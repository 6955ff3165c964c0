import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../errors/index.ts';
import { DEFAULT_CNI_CONFIG, parseAgentArgs, parseDuration } from './args.ts';

test('no flags give the documented defaults', () => {
  const a = parseAgentArgs([]);
  assert.equal(a.cniConfig, DEFAULT_CNI_CONFIG);
  assert.equal(a.reconcileIntervalMs, 60_000);
  assert.equal(a.graceMs, 60_000);
  assert.deepEqual(a.metricsListen, { host: '127.0.0.1', port: 9477 });
  assert.equal(a.once, false);
  assert.equal(a.logFile, undefined);
});

test('flags take their value after = or as the next argument', () => {
  const a = parseAgentArgs([
    '--cni-config=/etc/cni/net.d/x.conflist',
    '--reconcile-interval',
    '5m',
    '--grace=0',
    '--metrics-listen',
    '[::1]:0',
    '--once',
    '--log-file',
    '/var/log/nnet/agent.log',
    '--log-level=debug',
  ]);
  assert.equal(a.cniConfig, '/etc/cni/net.d/x.conflist');
  assert.equal(a.reconcileIntervalMs, 300_000);
  assert.equal(a.graceMs, 0);
  assert.deepEqual(a.metricsListen, { host: '::1', port: 0 });
  assert.equal(a.once, true);
  assert.equal(a.logFile, '/var/log/nnet/agent.log');
  assert.equal(a.logLevel, 'debug');
});

test('--metrics-listen off serves no metrics', () => {
  assert.equal(parseAgentArgs(['--metrics-listen=off']).metricsListen, undefined);
});

test('durations accept ms, s, m, h and plain seconds', () => {
  assert.equal(parseDuration('grace', '500ms'), 500);
  assert.equal(parseDuration('grace', '30s'), 30_000);
  assert.equal(parseDuration('grace', '1.5'), 1500);
  assert.equal(parseDuration('grace', '2h'), 7_200_000);
});

test('bad flags fail with InputError naming the flag', () => {
  const cases: [string[], RegExp][] = [
    [['--grace', 'soon'], /--grace: "soon" is not a duration/],
    [['--reconcile-interval=10ms'], /at least 100ms/],
    [['--metrics-listen', '9477'], /HOST:PORT/],
    [['--metrics-listen', 'h:70000'], /HOST:PORT/],
    [['--cni-config', 'relative.conflist'], /absolute path/],
    [['--log-level', 'loud'], /--log-level must be one of/],
    [['--bogus'], /unknown flag --bogus/],
    [['stray'], /unexpected argument "stray"/],
    [['--grace'], /--grace needs a value/],
    [['--grace=1s', '--grace=2s'], /given twice/],
    [['--once=yes'], /takes no value/],
  ];
  for (const [argv, re] of cases) {
    assert.throws(
      () => parseAgentArgs(argv),
      (e: unknown) => e instanceof InputError && e.reason === 'invalid-argument' && re.test(e.message),
      argv.join(' '),
    );
  }
});

test('--require-credentials is off by default and takes no value', () => {
  assert.equal(parseAgentArgs([]).requireCredentials, false);
  assert.equal(parseAgentArgs(['--require-credentials']).requireCredentials, true);
  assert.throws(() => parseAgentArgs(['--require-credentials=yes']), /--require-credentials takes no value/);
});
