/**
 * The thin `nnet` plugin: VERSION is answered here; every other command is forwarded (the CNI_*
 * variables and stdin) to nnet-agent's socket, and its answer printed as is. There is no
 * fallback: without the agent the plugin answers CNI code 11 (STATUS: 50), so that one process
 * on the node owns the locks, the port pools and the Neutron queue (src/agent/README.md).
 *
 *   const code = await runThinClient({ env: process.env, readStdin, stdout, hostname: os.hostname });
 */
import { createConnection } from 'node:net';
import {
  type AgentAnswer,
  CODES,
  clientConfig,
  cniEnv,
  encodeLine,
  errorDocument,
  LATEST_VERSION,
  MAX_ANSWER_BYTES,
  MAX_STDIN_BYTES,
  PROTOCOL_VERSION,
  parseAnswer,
  SUPPORTED_VERSIONS,
} from './index.ts';

export interface ThinClientIo {
  env: Readonly<Record<string, string | undefined>>;
  /** The whole stdin; rejects when it is larger than `max` bytes. */
  readStdin(max: number): Promise<Uint8Array>;
  stdout(text: string): void;
  hostname(): string;
}

/** Why the agent could not answer: its socket is not there, or it went away mid-request. */
class Unreachable extends Error {}

export async function runThinClient(io: ThinClientIo): Promise<number> {
  const command = io.env.CNI_COMMAND;
  if (command === 'VERSION') {
    io.stdout(
      `${JSON.stringify({ cniVersion: LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] })}\n`,
    );
    return 0;
  }
  let stdin: Uint8Array;
  try {
    stdin = await io.readStdin(MAX_STDIN_BYTES);
  } catch (e) {
    io.stdout(
      errorDocument(LATEST_VERSION, CODES.io, `could not read the network config from stdin: ${message(e)}`),
    );
    return 1;
  }
  const conf = clientConfig(stdin);
  try {
    const answer = await ask(
      conf.agentSocket,
      encodeLine({ v: PROTOCOL_VERSION, env: cniEnv(io.env), stdin: Buffer.from(stdin).toString('base64') }),
    );
    io.stdout(answer.stdout);
    return answer.code;
  } catch (e) {
    const node = conf.nodeName ?? io.hostname();
    const code = command === 'STATUS' ? CODES.notAvailable : CODES.tryAgainLater;
    const why = e instanceof Unreachable ? e.message : `talking to it failed: ${message(e)}`;
    io.stdout(
      errorDocument(
        conf.cniVersion,
        code,
        `nnet-agent is not running on node ${node} (${why}); the runtime will retry`,
      ),
    );
    return 1;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const NOT_THERE: Record<string, string> = {
  ENOENT: 'no socket at',
  ECONNREFUSED: 'nothing listens on',
  EACCES: 'no permission to use (nnet runs as root)',
  ENOTSOCK: 'not a socket:',
};

/** Sends one request line and reads the one answer line. */
function ask(socketPath: string, request: string): Promise<AgentAnswer> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ path: socketPath });
    const chunks: Buffer[] = [];
    let size = 0;
    let sent = false;
    sock.on('connect', () => {
      sent = true;
      // Not end(): the agent takes the end of our side for this process having died.
      sock.write(request);
    });
    sock.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_ANSWER_BYTES) {
        sock.destroy();
        reject(new Error(`its answer is larger than ${MAX_ANSWER_BYTES} bytes`));
        return;
      }
      chunks.push(b);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const what = e.code ? NOT_THERE[e.code] : undefined;
      if (!sent && what) reject(new Unreachable(`${what} ${socketPath}`));
      else if (sent)
        reject(
          new Unreachable(
            `it closed the connection to ${socketPath} before answering: ${e.code ?? e.message}`,
          ),
        );
      else reject(e);
    });
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const answer = parseAnswer(text.split('\n')[0] ?? '');
      if (answer) resolve(answer);
      else if (text === '')
        reject(new Unreachable(`it closed the connection to ${socketPath} before answering`));
      else reject(new Error(`its answer on ${socketPath} is not an nnet answer`));
    });
  });
}
