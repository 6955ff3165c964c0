/**
 * Bundles each binary into one ESM file with a shebang (`npm run build` → dist/). better-sqlite3
 * is a native addon and stays external (resolved from node_modules); everything else is inlined so
 * start-up reads one file. Tests that bundle a binary of their own use bundle() too, so they test
 * exactly the shipped form.
 */
import { chmodSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export const ENTRIES = {
  nnet: 'src/bin/nnet.ts',
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

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
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
