/**
 * `apply|create|delete -f`: read the manifests kubectl will read, take the N-Net annotations of
 * their Pods, reserve before kubectl (or release after it on delete). kubectl gets the command
 * unchanged; what was read from stdin is fed to it again.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { CommandContext, Handler } from '../context.ts';
import type { ExitStatus } from '../kubectl.ts';
import { type ManifestText, podNetworksFromManifests } from '../manifest.ts';
import type { Reservation } from '../reservations.ts';
import type { ManifestSource } from '../types.ts';
import { releaseDeleted, stopIfInterrupted, undoAll, warnNotConfigured } from './pod.ts';

const EXTENSIONS = new Set(['.json', '.yaml', '.yml']);

/** The files kubectl would read for `-f path` (a directory: its manifests; -R: recursively). */
function filesOf(path: string, recursive: boolean, top = true): string[] {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    return []; // kubectl reports the missing path
  }
  if (!stat.isDirectory()) return top || EXTENSIONS.has(extname(path)) ? [path] : [];
  if (!top && !recursive) return [];
  return readdirSync(path)
    .sort()
    .flatMap((entry) => filesOf(join(path, entry), recursive, false));
}

async function readSources(
  sources: readonly ManifestSource[],
  recursive: boolean,
  ctx: CommandContext,
): Promise<{ texts: ManifestText[]; stdin?: Buffer }> {
  const texts: ManifestText[] = [];
  let stdin: Buffer | undefined;
  for (const source of sources) {
    if (source.kind === 'stdin') {
      stdin ??= await ctx.io.readStdin();
      texts.push({ source: 'STDIN', text: stdin.toString('utf8') });
    } else if (source.kind === 'file') {
      for (const file of filesOf(source.path, recursive)) {
        try {
          texts.push({ source: file, text: readFileSync(file, 'utf8') });
        } catch {
          // unreadable: kubectl reports it
        }
      }
    }
    // URLs are kubectl's to fetch; their annotations are not read.
  }
  return stdin === undefined ? { texts } : { texts, stdin };
}

export const podManifests: Handler<'pod-manifests'> = async (command, ctx) => {
  const { texts, stdin } = await readSources(command.sources, command.recursive, ctx);
  const kubectl = () => ctx.kubectl(ctx.native!, stdin === undefined ? {} : { stdin });
  // The kubeconfig's namespace (a kubectl call) only when a Pod names none and no -n was given.
  const namespaces = async (found: { usesDefaultNamespace: boolean }) =>
    command.namespace !== undefined
      ? { namespace: command.namespace }
      : found.usesDefaultNamespace
        ? { defaultNamespace: await ctx.defaultNamespace() }
        : {};

  if (command.action === 'release') {
    // kubectl deletes first; bad annotations never block a delete.
    const result = await kubectl();
    if (result.code !== 0 || command.dryRun) return result;
    const backend = await ctx.backend();
    if (!backend) return result;
    const listed = podNetworksFromManifests(texts, { namespace: command.namespace, annotations: 'ignore' });
    const { pods } = podNetworksFromManifests(texts, {
      ...(await namespaces(listed)),
      annotations: 'ignore',
    });
    return releaseDeleted(backend, pods, ctx, result);
  }

  // Checked before anything happens, also when N-Net is not configured.
  const found = podNetworksFromManifests(
    texts,
    command.namespace !== undefined ? { namespace: command.namespace } : {},
  );
  if (found.requests.length === 0 || command.dryRun) return kubectl();
  const backend = await ctx.backend();
  if (!backend) {
    warnNotConfigured(ctx, `${found.requests.map((r) => `pod ${r.namespace}/${r.pod}`).join(', ')} created`);
    return kubectl();
  }
  // Pods naming no namespace go where kubectl puts them: the kubeconfig context's namespace.
  const { requests } = podNetworksFromManifests(texts, await namespaces(found));
  const reservations: Reservation[] = [];
  let result: ExitStatus;
  try {
    for (const request of requests) {
      reservations.push(await backend.reservePod(request));
      const stopped = await stopIfInterrupted(reservations, ctx);
      if (stopped) return stopped;
    }
    result = await kubectl();
  } catch (err) {
    await undoAll(reservations, ctx);
    throw err;
  }
  if (result.code !== 0) await undoAll(reservations, ctx);
  return result;
};
