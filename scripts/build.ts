/**
 * `npm run build` → dist/. Each Node binary is bundled into one ESM file with a shebang;
 * better-sqlite3 is a native addon and stays external (resolved from node_modules), everything
 * else is inlined so start-up reads one file. Tests that bundle a binary of their own use bundle()
 * too, so they test exactly the shipped form.
 *
 * The CNI plugin the runtime executes, `dist/nnet`, is the thin client compiled with Go
 * (src/cniproto/thin/main.go, standard library only): a static binary that needs nothing on the
 * node and starts in a millisecond. Its protocol constants come from src/cniproto/index.ts.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import {
  CODES,
  DEFAULT_AGENT_SOCKET,
  LATEST_VERSION,
  MAX_ANSWER_BYTES,
  MAX_STDIN_BYTES,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
} from '../src/cniproto/index.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export const ENTRIES = {
  kubenetctl: 'src/bin/kubenetctl.ts',
  'nnet-agent': 'src/bin/nnet-agent.ts',
  'nnet-install-cni': 'src/bin/nnet-install-cni.ts',
} as const;

/**
 * Test builds with the fault hook (test/support/faulty/): never installed anywhere. Only the
 * agent has one: the thin nnet plugin does no work a fault could interrupt.
 */
export const FAULTY_ENTRIES = {
  'nnet-agent': 'test/support/faulty/nnet-agent.ts',
} as const;

export async function bundle(
  name: keyof typeof ENTRIES,
  outfile: string,
  opts: { faulty?: boolean } = {},
): Promise<void> {
  const entry = opts.faulty ? FAULTY_ENTRIES[name as keyof typeof FAULTY_ENTRIES] : ENTRIES[name];
  if (!entry) throw new Error(`no faulty build of ${name}`);
  await build({
    entryPoints: [join(ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: false,
    // Smaller bundles parse faster: nnet is a new process per CNI call.
    minify: true,
    external: ['better-sqlite3'],
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __nnetCreateRequire } from 'node:module';\nconst require = __nnetCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  chmodSync(outfile, 0o755);
}

export const THIN_PLUGIN_SOURCE = 'src/cniproto/thin/main.go';

/** Compiles the thin plugin to `outfile` (written beside it first, then renamed into place). */
export function buildThinPlugin(outfile: string): void {
  const constants: Record<string, string | number> = {
    supportedVersions: SUPPORTED_VERSIONS.join(','),
    latestVersion: LATEST_VERSION,
    defaultSocket: DEFAULT_AGENT_SOCKET,
    protocolVersion: PROTOCOL_VERSION,
    maxStdinBytes: MAX_STDIN_BYTES,
    maxAnswerBytes: MAX_ANSWER_BYTES,
    codeIo: CODES.io,
    codeTryAgainLater: CODES.tryAgainLater,
    codeNotAvailable: CODES.notAvailable,
  };
  const ldflags = ['-s', '-w', ...Object.entries(constants).map(([k, v]) => `-X main.${k}=${v}`)].join(' ');
  mkdirSync(dirname(outfile), { recursive: true });
  const tmp = `${outfile}.tmp-${process.pid}`;
  try {
    execFileSync(
      'go',
      ['build', '-trimpath', '-ldflags', ldflags, '-o', tmp, join(ROOT, THIN_PLUGIN_SOURCE)],
      {
        cwd: ROOT,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: {
          ...process.env,
          // Standard library only, no module, no cgo: a static binary, built offline.
          GO111MODULE: 'off',
          GOFLAGS: '',
          CGO_ENABLED: '0',
          GOCACHE: process.env.GOCACHE ?? join(ROOT, 'dist/.gocache'),
        },
      },
    );
  } catch (e) {
    throw new Error(
      `building ${outfile} needs Go (Debian's golang-go; scripts/install-deps.sh installs it): ${(e as Error).message}`,
    );
  }
  chmodSync(tmp, 0o755);
  renameSync(tmp, outfile);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildThinPlugin(join(ROOT, 'dist', 'nnet'));
  rmSync(join(ROOT, 'dist', 'nnet.js'), { force: true }); // the Node thin client of older builds
  await Promise.all([
    ...(Object.keys(ENTRIES) as (keyof typeof ENTRIES)[]).map((name) =>
      bundle(name, join(ROOT, 'dist', `${name}.js`)),
    ),
    // The fault-injecting builds the fault tests run, apart from what ships.
    ...(Object.keys(FAULTY_ENTRIES) as (keyof typeof FAULTY_ENTRIES)[]).map((name) =>
      bundle(name, join(ROOT, 'dist/test', `${name}.js`), { faulty: true }),
    ),
  ]);
}
