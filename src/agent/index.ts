/**
 * nnet-agent, the node agent: serves the thin nnet plugin's CNI requests on a root-only unix
 * socket (cniserver.ts, cni.ts) on warm node contexts (contexts.ts), re-plugs pods' NICs after
 * ovs-vswitchd restarts (from the store's attachment records), reconciles the node with the
 * network module's sweep (the one CNI GC uses), and serves Prometheus metrics. Its config is the
 * nnet plugin's own, read from the CNI config file. See README.md.
 *
 *   const code = await main(['--cni-config', '/etc/cni/net.d/10-nnet.conflist']);
 *
 * The decisions (what to re-plug, what a sweep did) are pure and live in plan.ts; agent.ts does the I/O.
 */
export { type Agent, type AgentOptions, createAgent, type OnceReport, type ReplugReport } from './agent.ts';
export {
  type AgentArgs,
  DEFAULT_CNI_CONFIG,
  DEFAULT_METRICS_LISTEN,
  type ListenAddress,
  parseAgentArgs,
  parseDuration,
  USAGE,
} from './args.ts';
export { type CniHandlerOptions, createCniHandler } from './cni.ts';
export { type CniCall, type CniServer, type CniServerOptions, serveCni } from './cniserver.ts';
export { loadNodeConfig, parseNodeConfig, pluginConfigOf } from './config.ts';
export { createNodeContexts, type NodeContexts, nodeKey, type WarmNode } from './contexts.ts';
export { type MainIo, main, processMainIo } from './main.ts';
export { type AgentMetrics, createMetrics } from './metrics.ts';
export {
  noteInterface,
  planReplugs,
  type ReplugPlan,
  type ReplugPlanInput,
  type TapIndex,
} from './plan.ts';
export { type MetricsServer, serveMetrics } from './server.ts';
