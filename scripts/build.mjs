// Bundles each binary into one ESM file with a shebang. better-sqlite3 is a native addon and stays
// external (resolved from node_modules); everything else is inlined so start-up reads one file.
import { chmodSync } from 'node:fs';
import { build } from 'esbuild';

const entries = {
  nnet: 'src/bin/nnet.ts',
  kubenetctl: 'src/bin/kubenetctl.ts',
  'nnet-agent': 'src/bin/nnet-agent.ts',
};
await Promise.all(
  Object.entries(entries).map(async ([name, entry]) => {
    await build({
      entryPoints: [entry],
      outfile: `dist/${name}.js`,
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
    chmodSync(`dist/${name}.js`, 0o755);
  }),
);
