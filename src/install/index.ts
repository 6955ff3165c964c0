/**
 * The install step of the DaemonSet's init container (`nnet-install-cni`): installs the nnet plugin
 * into the host's CNI bin dir and writes the conflist, rendered from the ConfigMap's template with
 * the node's facts and validated by the plugin's own parser, each atomically and only when changed.
 *
 *   const code = await main(['--copy-credentials'], { env: process.env, stdout, stderr });
 *
 * plan.ts decides (pure); apply.ts writes.
 */
export {
  applyInstall,
  type FileOutcome,
  type InstallReport,
  installFile,
  removeLeftovers,
  writeFileAtomic,
} from './apply.ts';
export { DEFAULTS, type InstallArgs, parseInstallArgs, USAGE } from './args.ts';
export { type InstallIo, main } from './main.ts';
export { fillPlaceholders, type InstallPlan, type NodeFacts, planInstall } from './plan.ts';
