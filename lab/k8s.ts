/**
 * Experiment 3, "Kubernetes networking" (issue 11): what a Kubernetes node needs from N-Net, on the
 * lab's two nodes with real containers. Pods run real servers — busybox httpd in web1 (node 1, with
 * a hostPort through the chained portmap plugin) and web2 (node 2), dnsmasq as the cluster DNS in
 * dns (node 2) — and each node gets a STAND-IN FOR KUBE-PROXY (lab/kube-proxy-standin.ts: the
 * iptables rules kube-proxy writes for ClusterIP Services; kube-proxy itself needs an API server,
 * and none can run here). Each row of the table is probed from where Kubernetes would probe it;
 * then node 1's ovs-vswitchd is restarted and every row is probed again until it passes.
 */

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { applyStandin, type StandinService } from './kube-proxy-standin.ts';
import type { LabNode } from './nodes.ts';
import { busyboxTarball, IMAGE, importImage, type NodePodman, podman } from './podman.ts';
import { httpFrom, lookupFrom } from './probes.ts';
import { run } from './sh.ts';
import type { StepLog } from './steps.ts';
import { alignColumns } from './table.ts';

export const DNS_IMAGE = 'localhost/nnet-dnsmasq:1';
/** The Services' ClusterIPs, in the cluster's default Service CIDR 10.96.0.0/12. */
export const CLUSTER_IPS = { web1: '10.96.0.20', web2: '10.96.0.30', dns: '10.96.0.10' } as const;
const HOST_PORT = 8080;
const svcName = (pod: string) => `${pod}.default.svc.cluster.local`;

export interface K8sPod {
  label: string;
  name: string;
  node: LabNode;
  subnet: string;
  ip: string;
}

export interface K8sLab {
  prefix: string;
  dir: string;
  /** The podman network (the nodes' conflist) the pods join. */
  network: string;
  nodes: [LabNode, LabNode];
  /** Running busybox pods to probe from: one on node 1, one on node 2. */
  clients: [K8sPod, K8sPod];
  log: StepLog;
  /** Reserves the pod's IP (kubenetctl) and starts its container with these `podman` arguments. */
  addPod(p: K8sPod, podmanArgs: string[]): Promise<void>;
  nodePodman(node: LabNode): NodePodman;
}

export interface RowResult {
  what: string;
  from: string;
  to: string;
  /** PASS, FAIL, or "not yet: …" (a row this lab cannot run yet, said so rather than faked). */
  result: string;
  detail: string;
  /** After the restart: when the row passed again, from the kill. */
  passedAfterMs?: number;
}

export interface K8sResult {
  before: RowResult[];
  after: RowResult[];
  restart: { node: string; stoppedPid: number; startedPid: number; recoveryMs: number | undefined };
  services: string[];
}

interface Row {
  what: string;
  from: string;
  to: string;
  /** Returns what answered; throws when nothing did by the deadline. */
  probe(deadlineMs: number): Promise<string>;
  /** Why the row cannot run in this lab (undefined: it can). */
  notYet?: () => Promise<string | undefined>;
}

/** A tarball of busybox plus Debian's dnsmasq and the libraries it links: the DNS pod's image. */
function dnsmasqTarball(dir: string): string {
  const tar = join(dir, 'dnsmasq.tar');
  if (existsSync(tar)) return tar;
  const rootfs = join(dir, 'rootfs-dnsmasq');
  rmSync(rootfs, { recursive: true, force: true });
  execFileSync('tar', ['-C', mkdirp(rootfs), '-xf', busyboxTarball(dir)]);
  const ldd = execFileSync('ldd', ['/usr/sbin/dnsmasq'], { encoding: 'utf8' });
  const files = ['/usr/sbin/dnsmasq', ...[...ldd.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!)];
  for (const f of files) copyFileSync(f, join(mkdirp(join(rootfs, dirname(f))), f.split('/').pop()!));
  // dnsmasq looks its user up even as root (--user=root).
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\n');
  execFileSync('tar', ['-C', rootfs, '-cf', tar, '.']);
  rmSync(rootfs, { recursive: true, force: true });
  return tar;
}

function mkdirp(d: string): string {
  mkdirSync(d, { recursive: true });
  return d;
}

/** `podman run -d` of a pod: `--name` = the pod, on the nodes' network, never pulling. */
export function podArgs(
  k: Pick<K8sLab, 'network'>,
  name: string,
  extra: string[],
  image: string,
  cmd: string[],
): string[] {
  return [
    'run',
    '-d',
    '--name',
    name,
    '--hostname',
    name,
    '--network',
    k.network,
    '--pull=never',
    ...extra,
    image,
    ...cmd,
  ];
}

const httpd = (name: string) => [
  'sh',
  '-c',
  `mkdir -p /www && echo "served by ${name}" > /www/index.html && exec httpd -f -p 80 -h /www`,
];

const dnsmasq = (names: Record<string, string>) => [
  'dnsmasq',
  '--keep-in-foreground',
  '--conf-file=/dev/null',
  '--no-resolv',
  '--no-hosts',
  '--user=root',
  '--pid-file=',
  ...Object.entries(names).map(([n, ip]) => `--address=/${n}/${ip}`),
];

/** The container's network namespace (podman pins it under /run/netns). */
export async function podNetns(k: Pick<K8sLab, 'nodePodman'>, p: K8sPod): Promise<string> {
  const r = await podman(k.nodePodman(p.node), ['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', p.name]);
  const path = r.stdout.trim();
  if (!path.startsWith('/')) throw new Error(`podman inspect ${p.name}: no netns (${path})`);
  return path;
}

const served = (name: string) => async (out: Promise<string>) => {
  const body = (await out).trim();
  if (body !== `served by ${name}`) throw new Error(`answered "${body}", not "served by ${name}"`);
  return body;
};

/** The servers, the Services (stand-in rules on both nodes), and the table's rows. */
async function setUp(k: K8sLab): Promise<{ rows: Row[]; services: StandinService[] }> {
  const [node1, node2] = k.nodes;
  const [client1, client2] = k.clients;
  const mk = (label: string, node: LabNode, ip: string): K8sPod => ({
    label,
    name: `${k.prefix}-${label}`,
    node,
    subnet: '1.2.0.0/16',
    ip,
  });
  const web1 = mk('web1', node1, '1.2.0.110');
  const web2 = mk('web2', node2, '1.2.0.111');
  const dns = mk('dns', node2, '1.2.0.112');
  k.log.info(
    `(${node2.name}) $ podman import ${dnsmasqTarball(k.dir)} ${DNS_IMAGE}   (busybox + Debian's dnsmasq)`,
  );
  await importImage(k.nodePodman(node2), dnsmasqTarball(k.dir), DNS_IMAGE);
  await k.addPod(web1, podArgs(k, web1.name, ['-p', `${HOST_PORT}:80`], IMAGE, httpd(web1.name)));
  await k.addPod(web2, podArgs(k, web2.name, [], IMAGE, httpd(web2.name)));
  const names = { [svcName('web1')]: CLUSTER_IPS.web1, [svcName('web2')]: CLUSTER_IPS.web2 };
  await k.addPod(dns, podArgs(k, dns.name, [], DNS_IMAGE, dnsmasq(names)));
  const services: StandinService[] = [
    svc('default/web1:http', CLUSTER_IPS.web1, 80, 'tcp', web1.ip),
    svc('default/web2:http', CLUSTER_IPS.web2, 80, 'tcp', web2.ip),
    svc('kube-system/kube-dns:dns', CLUSTER_IPS.dns, 53, 'udp', dns.ip),
    svc('kube-system/kube-dns:dns-tcp', CLUSTER_IPS.dns, 53, 'tcp', dns.ip),
  ];
  for (const n of k.nodes) {
    k.log.info(
      `(${n.name}) kube-proxy STAND-IN: iptables-restore --noflush (KUBE-SERVICES → KUBE-SVC-… → KUBE-SEP-… DNAT)`,
    );
    await applyStandin(n.netns, services);
  }
  const [c1, c2] = [await podNetns(k, client1), await podNetns(k, client2)];
  const node = (n: LabNode) => `/run/netns/${n.netns}`;
  const rows: Row[] = [
    {
      what: 'node → pod on the same node (a probe)',
      from: `${node1.name} (host network)`,
      to: `${web1.name} ${web1.ip}:80`,
      probe: (d) => served(web1.name)(httpFrom(node(node1), `http://${web1.ip}/`, d)),
    },
    {
      what: 'host network of node 2 → pod on node 1',
      from: `${node2.name} (host network)`,
      to: `${web1.name} ${web1.ip}:80`,
      probe: (d) => served(web1.name)(httpFrom(node(node2), `http://${web1.ip}/`, d)),
    },
    {
      what: 'pod → ClusterIP, endpoint on the same node',
      from: `${client1.name} (${node1.name})`,
      to: `${CLUSTER_IPS.web1}:80 → ${web1.name}`,
      probe: (d) => served(web1.name)(httpFrom(c1, `http://${CLUSTER_IPS.web1}/`, d)),
    },
    {
      what: 'pod → ClusterIP, endpoint on the other node',
      from: `${client1.name} (${node1.name})`,
      to: `${CLUSTER_IPS.web2}:80 → ${web2.name}`,
      probe: (d) => served(web2.name)(httpFrom(c1, `http://${CLUSTER_IPS.web2}/`, d)),
    },
    ...(
      [
        [client1, c1, 'web2'],
        [client2, c2, 'web1'],
      ] as const
    ).map(([client, ns, target]) => ({
      what: `pod → DNS lookup through the DNS ClusterIP (pod on node ${client.node === node1 ? 1 : 2})`,
      from: `${client.name} (${client.node.name})`,
      to: `${CLUSTER_IPS.dns}:53/udp → ${dns.name}`,
      probe: async (d: number) => {
        const ip = await lookupFrom(ns, svcName(target), CLUSTER_IPS.dns, d);
        if (ip !== CLUSTER_IPS[target]) throw new Error(`${svcName(target)} resolved to ${ip}`);
        return `${svcName(target)} → ${ip}`;
      },
    })),
    {
      what: 'other node → hostPort',
      from: `${node2.name} (host network)`,
      to: `${node1.underlayIp}:${HOST_PORT} → ${web1.name}:80`,
      probe: (d) => served(web1.name)(httpFrom(node(node2), `http://${node1.underlayIp}:${HOST_PORT}/`, d)),
      notYet: () => hostPortMissing(node1),
    },
  ];
  return { rows, services };
}

function svc(
  name: string,
  clusterIp: string,
  port: number,
  protocol: 'tcp' | 'udp',
  ip: string,
): StandinService {
  return { name, clusterIp, port, protocol, endpoints: [{ ip, port }] };
}

/** Whether portmap ran in node 1's netns (its hostPort DNAT chain is there); why not, when not. */
async function hostPortMissing(n: LabNode): Promise<string | undefined> {
  const r = await run('iptables', ['-t', 'nat', '-S', 'CNI-HOSTPORT-DNAT'], {
    netns: n.netns,
    allowFail: true,
  });
  return r.code === 0 && r.stdout.includes('CNI-DN-')
    ? undefined
    : "not yet: needs the node daemon (portmap did not run in the node's netns)";
}

async function probeRows(rows: readonly Row[], deadlineMs: number): Promise<RowResult[]> {
  const out: RowResult[] = [];
  for (const r of rows) out.push(await probeRow(r, deadlineMs));
  return out;
}

async function probeRow(r: Row, deadlineMs: number): Promise<RowResult> {
  const base = { what: r.what, from: r.from, to: r.to };
  const notYet = await r.notYet?.();
  if (notYet) return { ...base, result: notYet, detail: '-' };
  try {
    return { ...base, result: 'PASS', detail: await r.probe(deadlineMs) };
  } catch (e) {
    return { ...base, result: 'FAIL', detail: e instanceof Error ? e.message : String(e) };
  }
}

/** Every row again after the restart, in rounds, until each has passed once (or the deadline). */
async function probeUntilRecovered(rows: readonly Row[], killedAt: number, deadlineMs: number) {
  const results: (RowResult | undefined)[] = rows.map(() => undefined);
  const until = killedAt + deadlineMs;
  for (;;) {
    // All rows at once, so that each row's time is its own, not the sum of those probed before it.
    await Promise.all(
      rows.map(async (r, i) => {
        if (results[i]?.result === 'PASS' || results[i]?.result.startsWith('not yet')) return;
        const res = await probeRow(r, 0);
        results[i] = res.result === 'PASS' ? { ...res, passedAfterMs: Date.now() - killedAt } : res;
      }),
    );
    const done = results.every((x) => x && x.result !== 'FAIL');
    if (done || Date.now() > until) return results as RowResult[];
  }
}

export async function experiment3(k: K8sLab): Promise<K8sResult> {
  const { rows, services } = await k.log.step(
    'experiment 3: HTTP servers (busybox httpd) in web1 (node 1, hostPort 8080) and web2 (node 2), dnsmasq in dns (node 2), the kube-proxy stand-in on both nodes',
    () => setUp(k),
  );
  const before = await k.log.step('experiment 3: probe every row', () => probeRows(rows, 120_000));
  const node = k.nodes[0];
  const after = await k.log.step(
    `experiment 3: restart ${node.name}'s ovs-vswitchd (TERM), probe every row again until it passes`,
    async () => {
      const killedAt = Date.now();
      const pids = await node.ovs.restartVswitchd('SIGTERM');
      k.log.info(
        `(${node.name}) ovs-vswitchd pid ${pids.stoppedPid} stopped (TERM), pid ${pids.startedPid} started`,
      );
      const res = await probeUntilRecovered(rows, killedAt, 90_000);
      return { res, pids };
    },
  );
  const recovered = after.res.every((r) => r.result !== 'FAIL');
  const recoveryMs = recovered ? Math.max(0, ...after.res.map((r) => r.passedAfterMs ?? 0)) : undefined;
  return {
    before,
    after: after.res,
    restart: { node: node.name, ...after.pids, recoveryMs },
    services: services.map(
      (s) =>
        `${s.name} ${s.clusterIp}:${s.port}/${s.protocol} → ${s.endpoints.map((e) => `${e.ip}:${e.port}`).join(', ')}`,
    ),
  };
}

/** The table, like the paper's Table 2: one line per row, PASS/FAIL, and what answered. */
export function table3(rows: readonly RowResult[]): string[] {
  const after = rows.some((r) => r.passedAfterMs !== undefined);
  const lines = [
    ['#', 'row', 'from', 'to', 'result', ...(after ? ['passed again after'] : []), 'answer'],
    ...rows.map((r, i) => [
      String(i + 1),
      r.what,
      r.from,
      r.to,
      r.result,
      ...(after ? [r.passedAfterMs === undefined ? '-' : `${(r.passedAfterMs / 1000).toFixed(2)} s`] : []),
      r.detail,
    ]),
  ];
  return alignColumns(lines);
}

/** Every row passed (a "not yet" row is not a failure of what runs), before and after the restart. */
export function k8sOk(r: K8sResult): boolean {
  return [...r.before, ...r.after].every((x) => x.result !== 'FAIL') && r.restart.recoveryMs !== undefined;
}
