/**
 * The control-plane relay of one lab node (see relay.ts for why): listens on 127.0.0.1:<ports> in
 * the node's netns and forwards every connection to the same port on the host's 127.0.0.1.
 *
 *   node --import tsx lab/relay-daemon.ts --netns nnl-node1 --ports 5000,9696,2379 --ready /…/relay.ready
 *
 * One process, in the host netns. It starts a child in the node netns (nsenter --net, which enters
 * no mount namespace), the child opens the listening sockets there and hands them over through the
 * IPC channel (Node sends the descriptors with SCM_RIGHTS) and exits; the sockets keep the node
 * netns they were made in. When every port is handed over, the ready file is written. SIGTERM:
 * the listeners close, the process exits.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

interface Args {
  netns: string;
  ports: number[];
  ready: string;
  child: boolean;
}

function parseArgs(argv: string[]): Args {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const netns = get('--netns') ?? '';
  const ports = (get('--ports') ?? '').split(',').map(Number);
  if (!/^[A-Za-z0-9._-]+$/.test(netns) || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535))
    throw new Error('usage: relay-daemon.ts --netns NAME --ports P1,P2 --ready FILE');
  return { netns, ports, ready: get('--ready') ?? '', child: argv.includes('--child') };
}

/** In the node netns: listen on each port and send the listener to the parent. */
function childMain(a: Args): void {
  let sent = 0;
  for (const port of a.ports) {
    const server = createServer({ pauseOnConnect: true });
    server.on('error', (e) => {
      console.error(`relay: cannot listen on 127.0.0.1:${port} in netns ${a.netns}: ${e.message}`);
      process.exit(1);
    });
    server.listen(port, '127.0.0.1', () => {
      process.send?.({ port }, server, () => {
        server.close();
        if (++sent === a.ports.length) process.disconnect();
      });
    });
  }
}

function pipeTo(port: number, client: Socket): void {
  const upstream = connect(port, '127.0.0.1');
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.resume();
}

function parentMain(a: Args): void {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(
    'nsenter',
    [
      `--net=/run/netns/${a.netns}`,
      process.execPath,
      ...process.execArgv,
      self,
      ...process.argv.slice(2),
      '--child',
    ],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const servers: Server[] = [];
  child.on('message', (m: { port: number }, handle) => {
    const server = handle as Server;
    server.on('connection', (c: Socket) => pipeTo(m.port, c));
    servers.push(server);
    if (servers.length === a.ports.length) {
      writeFileSync(a.ready, `${JSON.stringify({ netns: a.netns, ports: a.ports, pid: process.pid })}\n`);
      console.error(`relay: 127.0.0.1:{${a.ports.join(',')}} in netns ${a.netns} → the host's 127.0.0.1`);
    }
  });
  child.on('exit', (code) => {
    if (servers.length < a.ports.length) {
      console.error(
        `relay: the listener in netns ${a.netns} exited (${code}) before handing over every port`,
      );
      process.exit(1);
    }
  });
  process.on('SIGTERM', () => {
    for (const s of servers) s.close();
    process.exit(0);
  });
}

const args = parseArgs(process.argv.slice(2));
if (args.child) childMain(args);
else parentMain(args);
