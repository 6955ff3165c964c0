/**
 * nnet-agent from argv to exit status: parse the flags, read the plugin's config, then either one
 * pass (--once: exit 1 when something failed) or run until SIGTERM / SIGINT and stop gracefully
 * (the running pass finishes, the watch and the metrics server close). Exit 2: bad flags or config.
 */
import { InputError } from '../errors/index.ts';
import { createLogger, type Logger } from '../log/index.ts';
import { createAgent } from './agent.ts';
import { type AgentArgs, parseAgentArgs, USAGE } from './args.ts';
import { describeError, loadNodeConfig, type NetConf } from './config.ts';
import { checkCredentialsReference } from './credentials.ts';
import { createMetrics } from './metrics.ts';
import { serveMetrics } from './server.ts';

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
  const agent = createAgent({
    conf,
    log,
    metrics,
    reconcileIntervalMs: args.reconcileIntervalMs,
    graceMs: args.graceMs,
  });

  if (args.once) {
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

  const stop = io.stopSignal();
  let server: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  if (args.metricsListen) {
    try {
      server = await serveMetrics(
        args.metricsListen,
        async () => {
          await agent.pollCniLog();
          return metrics.render();
        },
        log,
      );
      log.info('serving metrics', { url: `http://${hostPort(server.address)}/metrics` });
    } catch (e) {
      log.error('cannot serve metrics', { listen: hostPort(args.metricsListen), error: describeError(e) });
      return 1;
    }
  }
  agent.start();
  const signal = await stop;
  log.info('stopping', { signal });
  await agent.stop();
  await server?.close();
  log.info('stopped');
  return 0;
}

function hostPort(a: { host: string; port: number }): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
