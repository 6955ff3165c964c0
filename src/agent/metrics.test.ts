import assert from 'node:assert/strict';
import { test } from 'node:test';
import { counter, createMetrics, gauge, histogram } from './metrics.ts';

test('a counter renders HELP, TYPE and one sample per label set, labels sorted and escaped', () => {
  const c = counter('x_total', 'Things.\nMore.', [{ kind: 'a' }]);
  c.inc({ kind: 'b"\\\n' }, 2);
  c.inc({ kind: 'a' });
  assert.equal(
    c.render(),
    '# HELP x_total Things.\\nMore.\n# TYPE x_total counter\nx_total{kind="a"} 1\nx_total{kind="b\\"\\\\\\n"} 2\n',
  );
  assert.throws(() => c.inc({}, -1), RangeError);
});

test('a gauge keeps the last value', () => {
  const g = gauge('g', 'G.');
  g.set(3);
  g.set(1);
  assert.equal(g.get(), 1);
  assert.match(g.render(), /^g 1$/m);
});

test('a histogram has cumulative buckets, +Inf, sum and count per label set', () => {
  const h = histogram('d_seconds', 'D.', [0.1, 1]);
  h.observe(0.05, { command: 'ADD' });
  h.observe(0.5, { command: 'ADD' });
  h.observe(3, { command: 'ADD' });
  const text = h.render();
  assert.match(text, /^d_seconds_bucket\{command="ADD",le="0.1"\} 1$/m);
  assert.match(text, /^d_seconds_bucket\{command="ADD",le="1"\} 2$/m);
  assert.match(text, /^d_seconds_bucket\{command="ADD",le="\+Inf"\} 3$/m);
  assert.match(text, /^d_seconds_sum\{command="ADD"\} 3.55$/m);
  assert.match(text, /^d_seconds_count\{command="ADD"\} 3$/m);
  assert.equal(h.count({ command: 'ADD' }), 3);
});

test('the agent exposes every metric the issue asks for, at zero before anything happened', () => {
  const text = createMetrics().render();
  for (const line of [
    '# TYPE nnet_cni_operation_duration_seconds histogram',
    'nnet_attachments 0',
    'nnet_reconcile_actions_total{kind="attachment_released"} 0',
    'nnet_reconcile_actions_total{kind="ovs_port_removed"} 0',
    'nnet_reconcile_actions_total{kind="neutron_port_released"} 0',
    'nnet_replugs_total 0',
    'nnet_errors_total{operation="replug"} 0',
  ])
    assert.ok(text.split('\n').includes(line), `missing: ${line}\n${text}`);
  // Every sample line is NAME{LABELS} VALUE; every family has HELP and TYPE.
  for (const l of text.split('\n').filter((x) => x && !x.startsWith('#')))
    assert.match(l, /^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$/);
});
