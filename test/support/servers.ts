/**
 * Servers inside test pods (network namespaces, by name): busybox httpd answering "served by
 * NAME", and dnsmasq answering fixed names, as the cluster DNS. Each registers its own cleanup.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Cleanups = (() => unknown)[];

/** `cmd` in netns `netns`, killed (SIGKILL, by its PID) at cleanup. */
export function serveIn(cleanups: Cleanups, netns: string, cmd: string[]): void {
  const child = spawn('ip', ['netns', 'exec', netns, ...cmd], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGKILL'));
}

/** busybox httpd on port 80 in the netns, answering "served by NAME". */
export function httpServerIn(cleanups: Cleanups, netns: string, name: string, prefix: string): void {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-www-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'index.html'), `served by ${name}\n`);
  serveIn(cleanups, netns, ['busybox', 'httpd', '-f', '-p', '80', '-h', dir]);
}

/** dnsmasq on `listen`:53 in the netns, answering each name with its address, nothing else. */
export function dnsServerIn(
  cleanups: Cleanups,
  netns: string,
  listen: string,
  names: Record<string, string>,
): void {
  serveIn(cleanups, netns, [
    'dnsmasq',
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--bind-interfaces',
    `--listen-address=${listen}`,
    '--pid-file=',
    ...Object.entries(names).map(([n, ip]) => `--address=/${n}/${ip}`),
  ]);
}
