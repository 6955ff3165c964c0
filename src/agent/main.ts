/**
 * nnet-agent from argv to exit status: parse the flags, read the plugin's config, then either one
 * pass (--once: exit 1 when something failed) or serve until SIGTERM / SIGINT: the CNI socket
 * (requests wait for the start-up reconcile), the OVSDB watch, the reconciles and the metrics.
 * Stopping is graceful: no new request is taken, the running ones and the running pass finish,
 * then the watch, the metrics server and the node contexts close. Exit 2: bad flags or config.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError } from '../errors/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { shareOvsdbConnections } from '../plug/index.ts';
import { createAgent } from './agent.ts';
import { type AgentArgs, parseAgentArgs, USAGE } from './args.ts';
import { createCniHandler } from './cni.ts';
import { type CniServer, serveCni } from './cniserver.ts';
import { describeError, loadNodeConfig, type NetConf } from './config.ts';
import { createNodeContexts, nodeKey } from './contexts.ts';
import { checkCredentialsReference } from './credentials.ts';
import { createMetrics } from './metrics.ts';
import { createPoolManager, type PoolManager } from './pools.ts';
import { serveMetrics } from './server.ts';

/** CNI requests wait for the start-up reconcile at most this long (a slow Neutron must not stall pods). */
const STARTUP_GATE_MS = 30_000;

export interface MainIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Resolves when the process is asked to stop (SIGTERM / SIGINT). */
  stopSignal(): Promise<string>;
}

export function processMainIo(): MainIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stopSignal: () =>
      new Promise((resolve) => {
        const on = (sig: string) => () => {
          process.off('SIGTERM', term);
          process.off('SIGINT', int);
          resolve(sig);
        };
        const term = on('SIGTERM');
        const int = on('SIGINT');
        process.once('SIGTERM', term);
        process.once('SIGINT', int);
      }),
  };
}

export async function main(argv: readonly string[], io: MainIo = processMainIo()): Promise<number> {
  let args: AgentArgs;
  try {
    args = parseAgentArgs(argv);
  } catch (e) {
    io.stderr(`nnet-agent: ${describeError(e)}\n`);
    return 2;
  }
  if (args.help) {
    io.stdout(USAGE);
    return 0;
  }
  const log: Logger = createLogger({
    component: 'agent',
    level: args.logLevel,
    ...(args.logFile ? { file: args.logFile } : { sink: (line: string) => io.stderr(line) }),
  });
  let conf: NetConf;
  try {
    conf = await loadNodeConfig(args.cniConfig);
  } catch (e) {
    log.error('cannot load the CNI config', { file: args.cniConfig, error: describeError(e) });
    if (args.logFile) io.stderr(`nnet-agent: ${describeError(e)}\n`);
    return e instanceof InputError ? 2 : 1;
  }
  try {
    checkCredentialsReference(conf, args.cniConfig, { required: args.requireCredentials });
  } catch (e) {
    log.error('cannot use the credentials', { file: args.cniConfig, error: describeError(e) });
    if (args.logFile) io.stderr(`nnet-agent: ${describeError(e)}\n`);
    return 2;
  }
  const metrics = createMetrics();
  const unshare = shareOvsdbConnections();
  const own = nodeKey(conf);
  let pools: PoolManager | undefined;
  const contexts = createNodeContexts({
    log,
    neutronConcurrency: args.neutronConcurrency,
    pinned: conf,
    onOpen: (c, handle) => {
      if (pools && nodeKey(c) === own) handle.attachPools(pools);
    },
  });
  // A nested node's pools keep their ports on its trunk (src/agent/README.md "Warm port pools").
  if (!args.once)
    pools = createPoolManager({
      conf,
      withCtx: (fn) => contexts.run(conf, { log, priority: 'background' }, fn),
      log: log.child({ part: 'pools' }),
      metrics,
    });
  const agent = createAgent({
    conf,
    contexts,
    pools,
    log,
    metrics,
    reconcileIntervalMs: args.reconcileIntervalMs,
    graceMs: args.graceMs,
  });
  try {
    if (args.once) return await once(agent, log);
    return await serve(args, conf, { agent, contexts, metrics, log, stop: io.stopSignal() });
  } finally {
    await contexts.close();
    unshare();
  }
}

async function once(agent: ReturnType<typeof createAgent>, log: Logger): Promise<number> {
  const r = await agent.runOnce();
  log.info('once: done', {
    replugged: r.replug.replugged,
    unchanged: r.replug.unchanged,
    attachmentsReleased: r.sweep?.attachmentsReleased ?? [],
    ovsPortsRemoved: r.sweep?.ovsPortsRemoved ?? [],
    neutronPortsReleased: r.sweep?.neutronPortsReleased ?? [],
    errors: r.errors,
  });
  return r.errors.length > 0 ? 1 : 0;
}

interface Running {
  agent: ReturnType<typeof createAgent>;
  contexts: ReturnType<typeof createNodeContexts>;
  metrics: ReturnType<typeof createMetrics>;
  log: Logger;
  stop: Promise<string>;
}

async function serve(args: AgentArgs, conf: NetConf, r: Running): Promise<number> {
  const { agent, log, metrics } = r;
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  if (args.metricsListen) {
    try {
      metricsServer = await serveMetrics(args.metricsListen, async () => metrics.render(), log);
      log.info('serving metrics', { url: `http://${hostPort(metricsServer.address)}/metrics` });
    } catch (e) {
      log.error('cannot serve metrics', { listen: hostPort(args.metricsListen), error: describeError(e) });
      return 1;
    }
  }
  const started = agent.start();
  let server: CniServer;
  try {
    server = await serveCni({
      path: args.socket ?? conf.agentSocket,
      handle: createCniHandler({
        contexts: r.contexts,
        metrics,
        fallbackLogFile: args.logFile,
        ready: Promise.race([started.catch(() => undefined), sleep(STARTUP_GATE_MS)]),
      }),
      log,
    });
  } catch (e) {
    log.error('cannot serve CNI', { socket: args.socket ?? conf.agentSocket, error: describeError(e) });
    await agent.stop();
    await metricsServer?.close();
    return e instanceof InputError ? 2 : 1;
  }
  const signal = await r.stop;
  log.info('stopping', { signal, requestsRunning: server.inFlight() });
  await server.close();
  await started.catch(() => undefined);
  await agent.stop();
  await metricsServer?.close();
  log.info('stopped');
  return 0;
}

function hostPort(a: { host: string; port: number }): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
