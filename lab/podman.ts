/**
 * The lab's pods as real containers: podman (scripts/podman.sh: runc, cgroupfs, the CNI backend) on
 * each node, with a store of the node's own, run inside the node's netns so that the CNI plugins it
 * calls (nnet, and any chained after it) run there too. The image is busybox, built here from
 * Debian's busybox-static (/bin/busybox and a link per applet) and imported: nothing is pulled.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { mountsUnder, type RunResult, run } from './sh.ts';

const ROOT = join(import.meta.dirname, '..');
export const IMAGE = 'localhost/nnet-busybox:1';

/** One node's podman: its store, the CNI config dir and plugin dir it uses, the netns it runs in. */
export interface NodePodman {
  node: string;
  netns: string;
  dir: string;
  netD: string;
  cniBin: string;
}

export function podman(
  p: NodePodman,
  args: string[],
  opts: { allowFail?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> {
  return run('bash', [join(ROOT, 'scripts/podman.sh'), ...args], {
    ...opts,
    env: {
      NNET_PODMAN_DIR: p.dir,
      NNET_PODMAN_NET_D: p.netD,
      NNET_PODMAN_CNI_BIN: p.cniBin,
      NNET_PODMAN_NETNS: p.netns,
    },
  });
}

/** A tarball holding Debian's static busybox and one link per applet: the image's whole file system. */
export function busyboxTarball(dir: string): string {
  const tar = join(dir, 'busybox.tar');
  if (existsSync(tar)) return tar;
  const rootfs = join(dir, 'rootfs');
  rmSync(rootfs, { recursive: true, force: true });
  for (const d of ['bin', 'tmp', 'etc']) mkdirSync(join(rootfs, d), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', a));
  execFileSync('tar', ['-C', rootfs, '-cf', tar, '.']);
  rmSync(rootfs, { recursive: true, force: true });
  return tar;
}

export async function importImage(p: NodePodman, tarball: string, image = IMAGE): Promise<void> {
  if ((await podman(p, ['image', 'exists', image], { allowFail: true })).code === 0) return;
  await podman(p, ['import', '-q', tarball, image]);
}

/** `podman run -d` of a busybox that sleeps, on `network`; the argv a person would type. */
export function runArgs(name: string, network: string): string[] {
  return [
    'run',
    '-d',
    '--name',
    name,
    '--hostname',
    name,
    '--network',
    network,
    '--pull=never',
    '--cap-add',
    'NET_RAW',
    IMAGE,
    'sleep',
    '1000000000',
  ];
}

export interface Removal {
  removed: string[];
  /** What could not be removed, each with why. */
  left: { what: string; why: string; fix: string }[];
}

/**
 * Removes the node's containers named `<prefix>-…` (podman runs the CNI DEL of each), the image,
 * then the store itself, unless something is still mounted in it.
 */
export async function removeNodePodman(p: NodePodman, prefix: string): Promise<Removal> {
  const out: Removal = { removed: [], left: [] };
  if (!existsSync(p.dir)) return out;
  const cmd = `NNET_PODMAN_DIR=${p.dir} NNET_PODMAN_NETNS=${p.netns} bash scripts/podman.sh`;
  const ps = await podman(p, ['ps', '-a', '--format', '{{.Names}}'], { allowFail: true });
  const names = ps.stdout.split('\n').filter((n) => n.startsWith(`${prefix}-`));
  for (const name of names) {
    const r = await podman(p, ['rm', '-f', '-t', '0', name], { allowFail: true, timeoutMs: 120_000 });
    if (r.code === 0) out.removed.push(`container ${name} on ${p.node}`);
    else
      out.left.push({
        what: `container ${name} on ${p.node}`,
        why: `podman rm failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`,
        fix: `${cmd} rm -f -t 0 ${name}`,
      });
  }
  if (out.left.length > 0) return out;
  await podman(p, ['rmi', '-f', IMAGE], { allowFail: true });
  const mounts = await mountsUnder(p.dir);
  if (mounts.length > 0) {
    out.left.push({
      what: `podman store ${p.dir}`,
      why: `still mounted there: ${mounts.join(', ')}`,
      fix: `umount ${mounts.join(' ')} && rm -rf ${p.dir}`,
    });
    return out;
  }
  rmSync(p.dir, { recursive: true, force: true });
  out.removed.push(`podman store of ${p.node}`);
  return out;
}
