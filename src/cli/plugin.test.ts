import assert from 'node:assert/strict';
import { test } from 'node:test';
import pkg from '../../package.json' with { type: 'json' };
import type { CliIo } from './context.ts';
import { main } from './main.ts';
import { parseCommandLine } from './parse.ts';
import { asKubectlPlugin, commandName, invokedAs } from './plugin.ts';

/** A plugin-mode io whose kubectl does not exist: any attempt to run it fails the command. */
function pluginIo() {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    env: { KUBECTL: '/nonexistent/kubectl', PATH: '' },
    stdout: (t) => {
      out.stdout += typeof t === 'string' ? t : Buffer.from(t).toString();
    },
    stderr: (t) => {
      out.stderr += t;
    },
    readStdin: async () => Buffer.alloc(0),
    invokedAs: 'kubectl-nnet',
  };
  return { io, out };
}

test('the name it runs as decides: kubectl-nnet (or kubectl-nnet.js) is the kubectl plugin', () => {
  assert.equal(invokedAs('/usr/local/bin/kubectl-nnet'), 'kubectl-nnet');
  assert.equal(invokedAs('/tmp/x/kubectl-nnet.js'), 'kubectl-nnet');
  assert.equal(invokedAs('/usr/local/bin/kubenetctl'), 'kubenetctl');
  assert.equal(invokedAs('/opt/nnet/dist/kubenetctl.js'), 'kubenetctl');
  assert.equal(invokedAs(undefined), 'kubenetctl');
});

test('as a plugin, N-Net commands parse as they do for kubenetctl; mixed lines keep their kubectl part', () => {
  const get = ['get', 'podnetworks', '-n', 'team-a'];
  assert.deepEqual(asKubectlPlugin(get, parseCommandLine(get)), parseCommandLine(get));
  const run = ['run', 'pod1', '--image=nginx', '--subnet=1.2.0.0/16', '--ip=1.2.0.100'];
  assert.deepEqual(asKubectlPlugin(run, parseCommandLine(run)).native, ['run', 'pod1', '--image=nginx']);
});

test('as a plugin, a line that is all kubectl’s is refused, naming the kubectl command to run', () => {
  const argv = ['get', 'pods', '-A'];
  assert.throws(
    () => asKubectlPlugin(argv, parseCommandLine(argv)),
    /"kubectl nnet get pods -A" is not an N-Net command; kubectl's own commands run without nnet: kubectl get pods -A/,
  );
});

test('kubectl nnet version prints N-Net’s version and runs no kubectl', async () => {
  const { io, out } = pluginIo();
  assert.deepEqual(await main(['version'], io), { code: 0 });
  assert.equal(out.stdout, `N-Net (kubectl nnet) Version: v${pkg.version}\n`);
  const json = pluginIo();
  assert.deepEqual(await main(['version', '-o', 'json'], json.io), { code: 0 });
  assert.deepEqual(JSON.parse(json.out.stdout), { kubenetctlVersion: { gitVersion: `v${pkg.version}` } });
});

test('kubectl nnet --help prints N-Net’s commands as `kubectl nnet …`, without kubectl’s help', async () => {
  const { io, out } = pluginIo();
  assert.deepEqual(await main(['--help'], io), { code: 0 });
  assert.match(out.stdout, /^N-Net network commands:/);
  assert.doesNotMatch(out.stdout, /\bkubenetctl [a-z<]/);
  assert.equal(commandName('kubenetctl get networks', 'kubenetctl'), 'kubenetctl get networks');
});
