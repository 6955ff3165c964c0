/**
 * `nnet-install-cni`: the DaemonSet's init container (deploy/k8s/nnet.yaml). See src/install.
 */
import { main } from '../install/index.ts';

const code = await main(process.argv.slice(2), {
  env: process.env,
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});
process.stdout.write('', () => process.exit(code));
