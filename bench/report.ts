/**
 * The results document (every raw number), the targets it is held against (reported, not
 * asserted) and the Markdown report.
 */
import type { Breakdown, ChurnResult, NeutronCeiling, TimedCall } from './cnilat.ts';
import {
  type ConfigId,
  configKey,
  type IperfRun,
  medianGbps,
  type PingRun,
  PLACEMENTS,
  PLUGIN_LABEL,
  PLUGINS,
  type Placement,
  type PluginId,
  rttOf,
  SERVICE_LABEL,
} from './datapath.ts';
import type { GrowthResult } from './growth.ts';
import type { LoadSample, Machine } from './machine.ts';
import type { Endpoint } from './pods.ts';
import type { PooledResult } from './pools.ts';
import type { FirstFetch, ProcessCost } from './process.ts';
import { fmt, round, type Summary } from './stats.ts';

export interface Settings {
  reps: number;
  seconds: number;
  pingCounts: number[];
  pingIntervalS: number;
  cniPods: number;
  churnPods: number;
  churnConcurrency: number;
  ceilingPorts: number;
  processRuns: number;
  /** Nested-mode CNI latency rounds (absent in runs before nested mode). */
  nestedPods?: number;
  growthLevels: number[];
  growthRounds: number;
  networkMtu: number;
  store: string;
  datapathType: 'netdev';
  /** The order the OVS pods were plugged in (a = client, b = same-host server, c = other host). */
  podOrder?: string[];
}

export interface Results {
  schema: 'nnet-bench/1';
  machine: Machine;
  settings: Settings;
  durationS: number;
  load: { samples: LoadSample[]; byPhase: Record<string, { mean1: number; max1: number }> };
  datapath?: {
    pairs: {
      key: string;
      plugin: ConfigId;
      placement: Placement;
      client: Endpoint;
      server: Endpoint;
      /** The address the client dialled, when not the server's own (a ClusterIP). */
      dial?: string;
      connected: boolean;
    }[];
    throughput: Record<string, IperfRun[]>;
    rtt: Record<string, PingRun[]>;
    /** RTT of TCP request/response (bench/tcp-echo.mjs), for the N-Net pairs direct and through a ClusterIP. */
    tcpRtt?: Record<string, PingRun[]>;
    /** Connections the kube-proxy stand-in's DNAT rules on node 1 matched (their first packets), by Service port. */
    serviceDnat?: Record<string, number>;
  };
  cni?: {
    calls: TimedCall[];
    breakdown: Record<string, Breakdown>;
    /** Every plugin call of the run that had to authenticate with Keystone. */
    keystoneAuths?: { node: string; command: string; keystoneMs: number }[];
    /** The reserved-port ADDs' binding PUTs (Neutron's own time for the one call a static IP needs). */
    bindingPutMs?: Summary;
  };
  /** Nested mode: CNI ADD/DEL rounds through a VM's runtime (pods on trunk subports). */
  nested?: {
    vm: string;
    calls: TimedCall[];
    breakdown: Record<string, Breakdown>;
    /** Warm pools on in the VM (absent in runs before nested pools). */
    pooled?: PooledResult & { breakdown: Record<string, Breakdown> };
  };
  /** Warm pools on: pooled ADD/DEL rounds, with the first ping after each ADD. */
  pools?: PooledResult & { breakdown: Record<string, Breakdown> };
  /** ADD, DEL and the agent's reconcile with more and more pods resident on node 1. */
  growth?: GrowthResult;
  /** ADDs started all at once on one node (pools on), each followed by its DEL. */
  parallel?: {
    pods: number;
    ok: number;
    totalS: number;
    add: Summary;
    failed: { verb: string; error: string }[];
  };
  churn?: Omit<ChurnResult, 'calls'> & {
    /** ADDs that took a pool port, made their own, or answered after OVN's claim wait ran out. */
    hits: number;
    misses: number;
    claimTimeouts: number;
    breakdown: Breakdown;
    calls: TimedCall[];
    neutronCeiling?: NeutronCeiling;
  };
  process?: ProcessCost[];
  firstFetch?: FirstFetch;
  targets: Target[];
  errors: string[];
}

export interface Target {
  id: string;
  what: string;
  op: '>=' | '<=' | '==';
  target: number;
  value: number | null;
  unit: string;
  met: boolean | null;
  /** How far off, in words, when missed. */
  miss: string | null;
}

function target(id: string, what: string, op: Target['op'], t: number, v: number, unit: string): Target {
  const value = round(v, 3);
  if (value === null) return { id, what, op, target: t, value, unit, met: null, miss: 'not measured' };
  const met = op === '>=' ? value >= t : op === '<=' ? value <= t : value === t;
  let miss: string | null = null;
  if (!met) {
    if (op === '==') miss = `${value} instead of ${t}`;
    else {
      const pct = Math.abs((value - t) / t) * 100;
      miss = `${op === '>=' ? 'short by' : 'over by'} ${fmtNum(Math.abs(value - t))}${unit === '×' ? '' : ` ${unit}`} (${pct.toFixed(0)}%)`;
    }
  }
  return { id, what, op, target: t, value, unit, met, miss };
}

const fmtNum = (x: number) =>
  Number.isInteger(x)
    ? String(x)
    : Math.abs(x) >= 100
      ? x.toFixed(0)
      : Math.abs(x) >= 10
        ? x.toFixed(1)
        : x.toFixed(2);

export interface DatapathSummary {
  gbps: Record<string, number>;
  /** mean of ping's per-run averages */
  rtt: Record<string, number>;
  /** mean of the per-run medians of the per-packet times */
  rttMedian: Record<string, number>;
  ratio: (metric: 'gbps' | 'rtt' | 'rttMedian', other: PluginId, placement: Placement) => number;
}

export function datapathSummary(r: Results): DatapathSummary {
  const gbps: Record<string, number> = {};
  const rtt: Record<string, number> = {};
  const rttMedian: Record<string, number> = {};
  for (const p of [...PLUGINS, 'underlay' as const])
    for (const pl of PLACEMENTS) {
      const k = configKey({ plugin: p, placement: pl });
      gbps[k] = medianGbps(r.datapath?.throughput[k]);
      rtt[k] = rttOf(r.datapath?.rtt[k]);
      rttMedian[k] = rttOf(r.datapath?.rtt[k], 'medianMs');
    }
  const ratio = (m: 'gbps' | 'rtt' | 'rttMedian', other: PluginId, pl: Placement) => {
    const t = m === 'gbps' ? gbps : m === 'rtt' ? rtt : rttMedian;
    return t[configKey({ plugin: 'nnet', placement: pl })]! / t[configKey({ plugin: other, placement: pl })]!;
  };
  return { gbps, rtt, rttMedian, ratio };
}

export interface ServiceSummary {
  /** Gbit/s and TCP-echo RTT (mean of the per-count averages; of the per-run medians), direct and via the ClusterIP. */
  gbps: Record<Placement, { direct: number; service: number }>;
  rtt: Record<Placement, { direct: number; service: number }>;
  rttMedian: Record<Placement, { direct: number; service: number }>;
  /** Service ÷ direct */
  gbpsRatio: Record<Placement, number>;
  rttRatio: Record<Placement, number>;
  rttMedianRatio: Record<Placement, number>;
  /** Service − direct, ms (of the medians): what the Service path adds, free of the tool's own per-request cost */
  rttAddedMs: Record<Placement, number>;
}

/** The Service path against the direct path, N-Net pods, from the same run. */
export function serviceSummary(r: Results): ServiceSummary {
  const per = <T>(f: (pl: Placement) => T) =>
    Object.fromEntries(PLACEMENTS.map((pl) => [pl, f(pl)])) as Record<Placement, T>;
  const keys = (pl: Placement) => ({
    direct: configKey({ plugin: 'nnet', placement: pl }),
    service: configKey({ plugin: 'nnet-svc', placement: pl }),
  });
  const both = (f: (k: string) => number) =>
    per((pl) => ({ direct: f(keys(pl).direct), service: f(keys(pl).service) }));
  const gbps = both((k) => medianGbps(r.datapath?.throughput[k]));
  const rtt = both((k) => rttOf(r.datapath?.tcpRtt?.[k]));
  const rttMedian = both((k) => rttOf(r.datapath?.tcpRtt?.[k], 'medianMs'));
  const ratio = (t: Record<Placement, { direct: number; service: number }>) =>
    per((pl) => t[pl].service / t[pl].direct);
  return {
    gbps,
    rtt,
    rttMedian,
    gbpsRatio: ratio(gbps),
    rttRatio: ratio(rtt),
    rttMedianRatio: ratio(rttMedian),
    rttAddedMs: per((pl) => rttMedian[pl].service - rttMedian[pl].direct),
  };
}

export function computeTargets(r: Results): Target[] {
  const out: Target[] = [];
  const d = datapathSummary(r);
  for (const pl of PLACEMENTS) {
    out.push(
      target(
        `tput-hybrid-${pl}`,
        `throughput N-Net ÷ hybrid, ${pl}`,
        '>=',
        1.8,
        d.ratio('gbps', 'hybrid', pl),
        '×',
      ),
    );
    out.push(
      target(
        `rtt-hybrid-${pl}`,
        `RTT N-Net ÷ hybrid, ${pl} (≥ 30% lower)`,
        '<=',
        0.7,
        d.ratio('rtt', 'hybrid', pl),
        '×',
      ),
    );
  }
  for (const pl of PLACEMENTS) {
    out.push(
      target(
        `tput-bare-${pl}`,
        `throughput N-Net ÷ bare limit, ${pl} (within 5%)`,
        '>=',
        0.95,
        d.ratio('gbps', 'bare', pl),
        '×',
      ),
    );
    out.push(
      target(
        `rtt-bare-${pl}`,
        `RTT N-Net ÷ bare limit, ${pl} (within 5%)`,
        '<=',
        1.05,
        d.ratio('rtt', 'bare', pl),
        '×',
      ),
    );
  }
  const pooled = r.pools?.breakdown['pooled/ADD'];
  out.push(
    target(
      'pooled-add-p50',
      'pooled ADD (warm pool port), p50',
      '<=',
      60,
      pooled?.wallMs.p50 ?? Number.NaN,
      'ms',
    ),
  );
  out.push(
    target(
      'pooled-add-p99',
      'pooled ADD (warm pool port), p99',
      '<=',
      150,
      pooled?.wallMs.p99 ?? Number.NaN,
      'ms',
    ),
  );
  const add = r.cni?.breakdown['reserved/ADD'];
  const put = r.cni?.bindingPutMs?.p50 ?? Number.NaN;
  out.push(
    target(
      'static-add-p50',
      `static-IP ADD (reserved port), p50 (goal: the binding PUT's own p50 ${fmt(put, 0)} ms + 40 ms)`,
      '<=',
      put + 40,
      add?.wallMs.p50 ?? Number.NaN,
      'ms',
    ),
  );
  out.push(
    target(
      'first-ping-lost',
      'packets lost by the first ping after a pooled ADD returns',
      '==',
      0,
      r.pools?.firstPing.lost ?? Number.NaN,
      '',
    ),
  );
  out.push(
    target(
      'churn-rate',
      `churn: pods per second (${r.settings.churnPods} pods, concurrency ${r.settings.churnConcurrency}, pools on)`,
      '>=',
      10,
      r.churn?.podsPerS ?? Number.NaN,
      'pods/s',
    ),
  );
  const l = r.churn?.leaks;
  out.push(
    target(
      'churn-leaks',
      'leaks after churn (N-Net Neutron ports + OVS ports + host links + store rows)',
      '==',
      0,
      l
        ? l.neutronPorts.length +
            l.ovsPorts.length +
            l.hostLinks.length +
            l.attachments.length +
            l.podConfigs.length
        : Number.NaN,
      '',
    ),
  );
  out.push(
    target(
      'parallel-adds',
      `${r.parallel?.pods ?? 64} ADDs at once on one node: succeeded`,
      '>=',
      r.parallel?.pods ?? 64,
      r.parallel?.ok ?? Number.NaN,
      '',
    ),
  );
  const v = r.process?.find((p) => p.label === 'nnet VERSION');
  out.push(
    target(
      'version-wall',
      'thin `nnet` VERSION wall time, median',
      '<=',
      40,
      v?.wallMs.p50 ?? Number.NaN,
      'ms',
    ),
  );
  out.push(
    target(
      'version-rss',
      'thin `nnet` VERSION peak RSS, median',
      '<=',
      50,
      v?.peakRssMb.p50 ?? Number.NaN,
      'MB',
    ),
  );
  return out;
}

// ---------------------------------------------------------------- Markdown

/** The call with the median wall time of each kind, one line each, as its log tells it. */
function typicalCalls(bd: Record<string, Breakdown>): string[] {
  return Object.entries(bd).map(
    ([k, b]) => `- **${k}** (wall ${fmt(b.typicalWallMs, 0)} ms): ${timeline(b)}`,
  );
}

function table(head: string[], rows: (string | number)[][]): string {
  const line = (r: (string | number)[]) => `| ${r.map(String).join(' | ')} |`;
  return [line(head), `|${head.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

const ratioCell = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–');

export function markdown(r: Results): string {
  const m = r.machine;
  const s = r.settings;
  const d = datapathSummary(r);
  const out: string[] = [];
  out.push('# N-Net benchmark results');
  out.push('');
  out.push(
    `Produced by \`npm run bench\` (scripts/bench.sh → bench/main.ts) on ${m.date.slice(0, 16).replace('T', ' ')} UTC, commit ${m.gitCommit}, in ${(r.durationS / 60).toFixed(1)} min. Every raw number is in [results.json](results.json); why targets are missed: [README.md](README.md).`,
  );
  out.push('');
  out.push(
    `**Machine:** ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, kernel ${m.kernel.split(' ')[0]}, Node ${m.node}, ${m.openvswitch}, ${m.ovn}, Neutron ${m.neutron}, Keystone ${m.keystone}, ${m.iperf3.split(' (')[0]}.`,
  );
  const phases = Object.entries(r.load.byPhase)
    .map(([p, v]) => `${p} ${v.mean1.toFixed(2)} (max ${v.max1.toFixed(2)})`)
    .join('; ');
  out.push('');
  out.push(
    `**Load average** (1 min; other work shares these ${m.cores} cores, so read ratios rather than absolute numbers): ${phases}.`,
  );
  out.push('');
  if (r.errors.length) {
    out.push('**Errors during the run:**');
    for (const e of r.errors) out.push(`- ${e}`);
    out.push('');
  }

  out.push('## Targets (reported, not asserted)');
  out.push('');
  out.push(
    table(
      ['target', 'goal', 'measured', 'met', 'miss'],
      r.targets.map((t) => [
        t.what,
        `${t.op === '==' ? '=' : t.op === '>=' ? '≥' : '≤'} ${t.target}${t.unit && t.unit !== '×' ? ` ${t.unit}` : t.unit}`,
        t.value === null ? '–' : `${fmtNum(t.value)}${t.unit && t.unit !== '×' ? ` ${t.unit}` : t.unit}`,
        t.met === null ? '–' : t.met ? 'yes' : '**no**',
        t.miss ?? '',
      ]),
    ),
  );
  out.push('');

  if (r.datapath) {
    out.push("## Data path (the paper's Figures 5 and 6)");
    out.push('');
    out.push(
      `Pods on two lab nodes (each a netns with its own ovsdb-server, ovs-vswitchd and ovn-controller joined to the environment's OVN; geneve between them over a veth underlay), all on one Neutron network (MTU ${s.networkMtu}) with Neutron's default security group. **N-Net** and **hybrid** pods were added through libcni with the \`nnet\` plugin (\`plugDriver: internal\` / \`hybrid\`); the **bare limit** is two Neutron ports plugged by hand as OVS internal ports (ovs-vsctl + ip) on the same br-int and logical switch; the **Flannel-style** reference is veths into a kernel Linux bridge per host and, between two host netns joined by their own veth underlay, a kernel VXLAN device with Flannel's routes, at the same pod MTU.`,
    );
    out.push('');
    out.push(
      `> **Read the Flannel-style column with care:** these machines have no openvswitch kernel module, so every OVS path here (N-Net, hybrid, bare limit) runs in user space (\`datapath_type=netdev\`: each packet is copied through ovs-vswitchd, with userspace conntrack for the security group), while the Flannel-style path runs entirely in the kernel (veth, bridge, VXLAN, with GSO/TSO and no filtering). The paper compares against Flannel with OVS in the kernel. The N-Net ÷ hybrid and N-Net ÷ bare-limit ratios compare like with like.`,
    );
    out.push('');
    const runs = (k: string) =>
      (r.datapath?.throughput[k] ?? [])
        .map((x) => (Number.isFinite(x.gbps) ? `${x.gbps.toFixed(2)} (${x.retransmits ?? '?'})` : 'ERR'))
        .join(', ');
    out.push(
      `TCP throughput, Gbit/s: median of ${s.reps} iperf3 runs of ${s.seconds} s (after 1 s omitted), configurations interleaved run by run; each run with its TCP retransmissions in brackets. The OVS pods were plugged in the order ${(s.podOrder ?? []).join(', ') || '(not recorded)'} (a port's RTT here depends on when it joined br-int; see README.md).`,
    );
    out.push('');
    out.push(
      table(
        ['plugin', 'same host', 'runs (retransmits)', 'across hosts', 'runs (retransmits)'],
        PLUGINS.map((p) => {
          const a = configKey({ plugin: p, placement: 'same host' });
          const b = configKey({ plugin: p, placement: 'across hosts' });
          return [PLUGIN_LABEL[p], fmt(d.gbps[a]), runs(a), fmt(d.gbps[b]), runs(b)];
        }),
      ),
    );
    const ul = configKey({ plugin: 'underlay', placement: 'across hosts' });
    out.push('');
    out.push(
      `Reference, across hosts: node 1 → node 2 over their underlay addresses on br-phy (OVS user space + the veth underlay, no geneve, no pod): ${fmt(d.gbps[ul])} Gbit/s (${runs(ul)}), RTT ${fmt(d.rtt[ul], 3)} ms — the ceiling of every cross-host OVS path here.`,
    );
    out.push('');
    out.push(
      `Ping RTT, ms: ping's average of each run of N pings ${s.pingIntervalS} s apart (×N columns); "mean" is the mean of those over the ${s.pingCounts.length} packet counts; "median" is the mean of each run's median packet time, which a few slow replies (other work on the machine) do not move.`,
    );
    out.push('');
    const rttRow = (p: PluginId, pl: Placement) => {
      const k = configKey({ plugin: p, placement: pl });
      const pr = r.datapath?.rtt[k] ?? [];
      return [
        `${PLUGIN_LABEL[p]}, ${pl}`,
        fmt(d.rtt[k], 3),
        fmt(d.rttMedian[k], 3),
        ...s.pingCounts.map((c) => fmt(pr.find((x) => x.count === c)?.avgMs, 3)),
        String(pr.reduce((a, x) => a + (x.transmitted - x.received), 0)),
      ];
    };
    out.push(
      table(
        ['plugin, placement', 'mean', 'median', ...s.pingCounts.map((c) => `×${c}`), 'lost'],
        PLACEMENTS.flatMap((pl) => PLUGINS.map((p) => rttRow(p, pl))),
      ),
    );
    out.push('');
    out.push('Ratios (throughput: higher is better for N-Net; RTT: lower is better for N-Net):');
    out.push('');
    const others: [PluginId, string][] = [
      ['hybrid', 'N-Net ÷ hybrid'],
      ['flannel', 'N-Net ÷ Flannel-style (kernel; see the note above)'],
      ['bare', 'N-Net ÷ bare limit'],
    ];
    out.push(
      table(
        [
          'ratio',
          'throughput, same host',
          'throughput, across hosts',
          'RTT (mean), same host',
          'RTT (mean), across hosts',
          'RTT (median), same host',
          'RTT (median), across hosts',
        ],
        others.map(([o, label]) => [
          label,
          ratioCell(d.ratio('gbps', o, 'same host')),
          ratioCell(d.ratio('gbps', o, 'across hosts')),
          ratioCell(d.ratio('rtt', o, 'same host')),
          ratioCell(d.ratio('rtt', o, 'across hosts')),
          ratioCell(d.ratio('rttMedian', o, 'same host')),
          ratioCell(d.ratio('rttMedian', o, 'across hosts')),
        ]),
      ),
    );
    out.push('');
    out.push(
      'For reference, the paper (kernel OVS, Kubernetes 1.18, Queens): same host N-Net ÷ Kuryr 1.69×, ÷ Flannel 1.44×; across hosts 1.63×, 1.43×; RTT 29% / 23% lower than Kuryr / Flannel on one host, 28% / 22% across hosts.',
    );
    out.push('');
    if (r.datapath.tcpRtt) out.push(...serviceSection(r), '');
    if (r.datapath.pairs.some((p) => p.plugin === 'nested')) out.push(...nestedDatapath(d), '');
    out.push('![Figure 5: TCP throughput](fig5-throughput.png)');
    out.push('');
    out.push('![Figure 6: RTT by packet count](fig6-rtt.png)');
    out.push('');
  }

  if (r.cni) {
    out.push('## CNI ADD and DEL latency (through libcni)');
    out.push('');
    out.push(
      `${s.cniPods} rounds on node 1 (\`plugDriver: internal\`, ${s.store} store), one at a time: a pod whose port was reserved beforehand (reservePort + its network config in the store, as kubenetctl does) and a pod whose port ADD creates, each ADD then DEL. Wall time is from spawning the libcni harness to its exit (what the kubelet waits for). Neutron and Keystone times come from the plugin's own debug log lines (each Neutron request's duration, each Keystone authentication's); "Neutron" is the time with at least one Neutron request in flight (ADD sends two GETs in parallel); "N-Net own" = wall − Neutron − Keystone, which includes libcni, the thin \`nnet\` client (a compiled binary: its start and the round trip to the node's nnet-agent, where the command runs and whose warm Neutron connection it uses), the store and the plug.`,
    );
    out.push('');
    out.push(breakdownTable(r.cni.breakdown));
    out.push('');
    const ka = r.cni.keystoneAuths ?? [];
    out.push(
      `Keystone: ${ka.length} plugin calls in the whole run authenticated (${ka.map((k) => `${k.command} on ${k.node}: ${k.keystoneMs} ms`).join(', ') || '–'}); every other call used the token cached on its node, so Keystone's share of the calls above is 0.`,
    );
    out.push('');
    out.push(
      "The call with the median wall time of each kind, as its log tells it (ms since the plugin's runPlugin started; a Neutron line is written when the reply is in, with the request's duration):",
    );
    out.push('', ...typicalCalls(r.cni.breakdown), '');
  }

  if (r.nested) {
    out.push('## Nested mode: CNI ADD and DEL latency in a VM');
    out.push('');
    out.push(
      `${r.settings.nestedPods ?? '?'} rounds in ${r.nested.vm} (\`plugDriver: vlan\`, \`nested.vlanDevice: ovs\`), the same rounds as above: a reserved-port pod and an ADD-creates pod, ADD then DEL. A nested ADD makes (or takes) the port unbound, adds it to the VM's trunk with a free VLAN ID (Neutron's answer arbitrates), sets its owner, makes the pod's NIC on the VM's own bridge, and answers once Neutron reports the subport ACTIVE. These rounds run with pools off, so every one has Neutron on its path; the bare-metal rounds above are their reference.`,
    );
    out.push('');
    out.push(breakdownTable(r.nested.breakdown));
    out.push('');
    if (r.cni) {
      const ratio = (k: string) =>
        ratioCell(
          (r.nested?.breakdown[k]?.wallMs.p50 ?? Number.NaN) /
            (r.cni?.breakdown[k]?.wallMs.p50 ?? Number.NaN),
        );
      out.push(
        `Nested ÷ bare metal, ADD p50: reserved port ${ratio('reserved/ADD')}, ADD-creates ${ratio('created/ADD')}; DEL p50: ${ratio('reserved/DEL')}, ${ratio('created/DEL')}.`,
        '',
      );
    }
    out.push(...typicalCalls(r.nested.breakdown), '');
    const np = r.nested.pooled;
    if (np) {
      const add = np.breakdown['pooled/ADD']!;
      const created = r.nested.breakdown['created/ADD']?.wallMs.p50 ?? Number.NaN;
      const metal = r.pools?.breakdown['pooled/ADD']?.wallMs.p50 ?? Number.NaN;
      out.push(
        `**With warm pools in the VM** (min ${np.settings.min}, max ${np.settings.max}, batch ${np.settings.batch}; filled in ${np.fillS.toFixed(1)} s): the VM's agent keeps ready subports on its trunk, each on its VLAN and ACTIVE, and a pooled ADD only makes the pod's NIC on the VM's bridge (no Neutron request). ${np.calls.filter((c) => c.verb === 'ADD').length} rounds of ADD, one ping to a pod in the other VM sent as ADD returns, DEL (the subport stays on the trunk, back in the pool): ADD p50 ${add.wallMs.p50.toFixed(0)} ms, p99 ${add.wallMs.p99.toFixed(0)} ms; ${np.hits} hits, ${np.misses} misses; first pings lost ${np.firstPing.lost}/${np.firstPing.sent}. Pooled ÷ ADD-creates nested ADD p50: ${ratioCell(add.wallMs.p50 / created)}; pooled nested ÷ pooled bare-metal ADD p50: ${ratioCell(add.wallMs.p50 / metal)}${Number.isNaN(metal) ? ' (no bare-metal pooled rounds in this run)' : ''}.`,
        '',
      );
    }
  }

  if (r.pools) {
    const p = r.pools;
    out.push('## Warm pools: ADD without a static IP');
    out.push('');
    out.push(
      `The cluster's pools on (min ${p.settings.min}, max ${p.settings.max}, batch ${p.settings.batch}, as \`kubenetctl set cluster --pool-min …\` writes them): node 1's agent had ${p.settings.min} ports made in bulk, bound, pre-plugged and claimed by OVN ${p.fillS.toFixed(1)} s later. Then ${r.settings.cniPods} rounds, one at a time, of a pod without a static IP: ADD, one ping to a pod on node 2 (${p.firstPing.target}) sent the moment ADD returned, DEL (the port goes back to the pool). ${p.hits} ADDs took a pool port, ${p.misses} made one (a miss). First pings lost: **${p.firstPing.lost} of ${p.firstPing.sent}**.`,
    );
    out.push('');
    out.push(breakdownTable(p.breakdown), '', ...typicalCalls(p.breakdown), '');
  }

  if (r.parallel) {
    const q = r.parallel;
    out.push('## ADDs at once');
    out.push('');
    out.push(
      `${q.pods} ADDs started together on node 1 (pools on, so most take a pool port and the rest are made through the node's Neutron queue), each followed by its DEL: **${q.ok}/${q.pods} succeeded** in ${q.totalS.toFixed(1)} s; ADD p50 ${fmt(q.add.p50, 0)} ms, max ${fmt(q.add.max, 0)} ms${q.failed.length ? `; failures: ${q.failed.map((f) => `${f.verb}: ${f.error}`).join('; ')}` : ''}.`,
    );
    out.push('');
  }

  if (r.growth && r.growth.levels.length > 0) {
    const g = r.growth;
    out.push('## How cost grows with the pods on the node');
    out.push('');
    out.push(
      `Pods without a static IP were added to node 1 through libcni (pools on) and kept: at each number of resident pods, ${g.rounds} rounds, one at a time, of one more pod's ADD and DEL, then the agent's next whole reconcile (\`nnet_reconcile_duration_seconds\`: the sweep of attachments, OVS and Neutron, the node's own ports, the pools; its Neutron requests wait in the node's queue behind the background work the resident pods set off, such as the pool ports' owner updates). The rounds start once the pool is full again (the column says how long that took; "not waited for" in runs made before the benchmark waited). The resident pods were deleted at the end.${g.residentFailures.length ? ` Resident ADDs that failed: ${g.residentFailures.length} (e.g. ${g.residentFailures[0]}).` : ''}`,
    );
    out.push('');
    out.push(
      '| pods on the node | pool full again after | ADD p50 | ADD p99 | DEL p50 | Neutron calls per ADD / DEL | pool hits / misses | reconcile ms | failed calls |',
    );
    out.push('|---|---|---|---|---|---|---|---|---|');
    for (const l of g.levels)
      out.push(
        `| ${l.resident} | ${l.poolReadyS === undefined ? 'not waited for' : `${l.poolReadyS.toFixed(1)} s`} | ${fmt(l.add.p50, 0)} | ${fmt(l.add.p99, 0)} | ${fmt(l.del.p50, 0)} | ${l.neutronCallsPerAdd} / ${l.neutronCallsPerDel} | ${l.hits} / ${l.misses} | ${fmt(l.reconcileMs, 0)} | ${l.failed} |`,
      );
    out.push('');
  }

  if (r.churn) {
    const c = r.churn;
    out.push('## Churn');
    out.push('');
    out.push(
      `${c.pods} pods on node 1, ${c.concurrency} at a time, each ADD then DEL (pools on: ADD takes a pool port, DEL gives it back): **${c.podsPerS.toFixed(2)} pods/s** (${c.totalS.toFixed(1)} s). ADD p50 ${fmt(c.add.p50, 0)} ms / p99 ${fmt(c.add.p99, 0)} ms, DEL p50 ${fmt(c.del.p50, 0)} ms / p99 ${fmt(c.del.p99, 0)} ms under that concurrency; ${c.failed.length} failed calls. Of the ADDs, ${c.hits} took a pool port and ${c.misses} made their own (misses); ${c.claimTimeouts} answered only after OVN's claim wait ran out.`,
    );
    out.push('');
    out.push(
      `Left after the churn, the 64 ADDs at once and the pools' drain: ${c.leaks.neutronPorts.length} N-Net Neutron ports, ${c.leaks.ovsPorts.length} OVS ports, ${c.leaks.hostLinks.length} host links, ${c.leaks.attachments.length} attachment rows, ${c.leaks.podConfigs.length} pod configs.`,
    );
    out.push('');
    out.push(breakdownTable({ 'churn ADD': c.breakdown }));
    out.push('');
    const n = c.neutronCeiling;
    if (n) {
      out.push(
        `Neutron alone, the same concurrency, no plugin (${n.ports} ports created bound to node 1 with one POST and deleted with one DELETE, from one warm process): **${n.perS.toFixed(2)} create+delete pairs/s**; POST p50 ${fmt(n.create.p50, 0)} ms, DELETE p50 ${fmt(n.del.p50, 0)} ms. No CNI plugin that creates a port per pod churns faster than this on this Neutron (\`api_workers = ${r.machine.neutronApiWorkers}\`).`,
      );
      out.push('');
    }
  }

  if (r.process) {
    out.push('## Process cost');
    out.push('');
    out.push(
      `Median (p90) of ${s.processRuns} runs each, interleaved; peak RSS from GNU time (\`%M\`, the largest of the process and its children).`,
    );
    out.push('');
    out.push(
      table(
        ['command', 'wall ms', 'peak RSS MB'],
        r.process.map((p) => [
          `${p.label}`,
          `${fmt(p.wallMs.p50, 1)} (${fmt(p.wallMs.p90, 1)})`,
          `${fmt(p.peakRssMb.p50, 1)} (${fmt(p.peakRssMb.p90, 1)})`,
        ]),
      ),
    );
    if (r.firstFetch) {
      out.push('');
      out.push(
        `In a fresh node process the first \`fetch()\` (to the local etcd) takes ${fmt(r.firstFetch.firstMs.p50, 1)} ms and the second ${fmt(r.firstFetch.secondMs.p50, 1)} ms (p50 of ${r.firstFetch.firstMs.n}): the difference is loading undici, which every plugin call pays once.`,
      );
    }
    const kn = r.process.find((p) => p.label.startsWith('kubenetctl'));
    const kc = r.process.find((p) => p.label.startsWith('kubectl'));
    if (kn && kc) {
      out.push('');
      out.push(
        `kubenetctl ÷ kubectl (\`version --client\`): wall ${ratioCell(kn.wallMs.p50 / kc.wallMs.p50)}, peak RSS ${ratioCell(kn.peakRssMb.p50 / kc.peakRssMb.p50)} (kubenetctl runs kubectl for the native part, so its wall time contains kubectl's).`,
      );
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

function serviceSection(r: Results): string[] {
  const s = r.settings;
  const v = serviceSummary(r);
  const runs = (k: string) =>
    (r.datapath?.throughput[k] ?? [])
      .map((x) => (Number.isFinite(x.gbps) ? x.gbps.toFixed(2) : 'ERR'))
      .join(', ');
  const pair = (pl: Placement) =>
    r.datapath?.pairs.find((p) => p.key === configKey({ plugin: 'nnet-svc', placement: pl }));
  const via = PLACEMENTS.map((pl) => {
    const p = pair(pl);
    return p ? `${pl}: ${p.client.name} → ${p.dial} → ${p.server.name} ${p.server.ip}` : `${pl}: –`;
  }).join('; ');
  const lost = (k: string) =>
    String((r.datapath?.tcpRtt?.[k] ?? []).reduce((a, x) => a + (x.transmitted - x.received), 0));
  return [
    '### The Service path: pod → ClusterIP → pod against pod → pod',
    '',
    `${SERVICE_LABEL}: the N-Net client pod dials a ClusterIP whose one endpoint is the N-Net server pod of the direct pair (${via}). The pod's route for the Service CIDR leads to its node's own port on the pod network; the node's netfilter does kube-proxy's DNAT (rules of the **kube-proxy stand-in**, lab/kube-proxy-standin.ts: the iptables-nft rules kube-proxy writes for a ClusterIP Service, on both nodes; kube-proxy itself needs an API server, none runs here) and N-Net's masquerade, so the reply returns through the same node. The Service pairs are measured in the same interleaved loops as the direct pairs, on the same pods.`,
    '',
    `RTT: ping cannot reach a ClusterIP (kube-proxy DNATs no ICMP), so both paths are measured with **bench/tcp-echo.mjs**: one TCP connection (Nagle off), 64-byte requests, each echoed back before the next is sent, ${s.pingCounts.join('/')} requests ${s.pingIntervalS} s apart, the two paths interleaved count by count. Each request also pays the tool's own cost (a Node.js event-loop turn at each end, which ping has not), the same on both paths: that dilutes the RTT ratio, so the table also gives the time the Service path adds (difference of the medians). Compare these rows with each other, not with the ping table.`,
    '',
    `Connections the stand-in's DNAT rules on node 1 took (proof that the Service pairs went through the node's netfilter): ${
      Object.entries(r.datapath?.serviceDnat ?? {})
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || '–'
    }.`,
    '',
    table(
      [
        'placement',
        'throughput direct, Gbit/s (runs)',
        'via ClusterIP (runs)',
        'Service ÷ direct',
        'TCP RTT direct, ms (median)',
        'via ClusterIP (median)',
        'Service ÷ direct (median)',
        'added by the Service (median), ms',
        'lost direct / Service',
      ],
      PLACEMENTS.map((pl) => {
        const d = configKey({ plugin: 'nnet', placement: pl });
        const sv = configKey({ plugin: 'nnet-svc', placement: pl });
        return [
          pl,
          `${fmt(v.gbps[pl].direct)} (${runs(d)})`,
          `${fmt(v.gbps[pl].service)} (${runs(sv)})`,
          ratioCell(v.gbpsRatio[pl]),
          `${fmt(v.rtt[pl].direct, 3)} (${fmt(v.rttMedian[pl].direct, 3)})`,
          `${fmt(v.rtt[pl].service, 3)} (${fmt(v.rttMedian[pl].service, 3)})`,
          `${ratioCell(v.rttRatio[pl])} (${ratioCell(v.rttMedianRatio[pl])})`,
          fmt(v.rttAddedMs[pl], 3),
          `${lost(d)} / ${lost(sv)}`,
        ];
      }),
    ),
  ];
}

function timeline(b: Breakdown): string {
  return (
    (b.typicalTimeline ?? [])
      .map((x) => `+${Number.isFinite(x.t) ? x.t : '?'} ${x.msg}${x.ms !== undefined ? ` (${x.ms} ms)` : ''}`)
      .join(' → ') || '–'
  );
}

function breakdownTable(bs: Record<string, Breakdown>): string {
  return table(
    [
      'calls',
      'n (failed)',
      'wall p50',
      'p90',
      'p99',
      'Neutron p50',
      'Keystone p50',
      'OVS plug p50',
      'thin client + libcni p50',
      'N-Net own p50',
      'share: Neutron / Keystone / N-Net',
      'Neutron calls',
    ],
    Object.entries(bs).map(([k, b]) => [
      k,
      `${b.wallMs.n} (${b.failed ?? 0})`,
      fmt(b.wallMs.p50, 0),
      fmt(b.wallMs.p90, 0),
      fmt(b.wallMs.p99, 0),
      fmt(b.neutronMs.p50, 0),
      `${fmt(b.keystoneMs.p50, 0)} (${b.authenticated} authenticated)`,
      fmt(b.ovsMs.p50, 0),
      fmt(b.startupMs.p50, 0),
      fmt(b.nnetOwnMs.p50, 0),
      `${(b.share.neutron * 100).toFixed(0)}% / ${(b.share.keystone * 100).toFixed(0)}% / ${(b.share.nnetOwn * 100).toFixed(0)}%`,
      fmt(b.neutronCallsPerOp, 0),
    ]),
  );
}

/** The nested pods' data path against N-Net's on bare metal, from the same run. */
function nestedDatapath(d: DatapathSummary): string[] {
  const k = (p: 'nnet' | 'nested', pl: Placement) => configKey({ plugin: p, placement: pl });
  const cell = (m: 'gbps' | 'rtt' | 'rttMedian', pl: Placement) => {
    const t = m === 'gbps' ? d.gbps : m === 'rtt' ? d.rtt : d.rttMedian;
    return ratioCell(t[k('nested', pl)]! / t[k('nnet', pl)]!);
  };
  return [
    `**Nested mode** (the "N-Net nested" rows): pods in VMs, one VM on each node, each VM a netns with an OVS of its own whose NIC is its Neutron trunk parent port; "same host" is two pods in the same VM, "across hosts" a pod in each VM. Each pod is a trunk subport with a VLAN of its own, so its packets go pod → the VM's bridge (tagged) → the VM's NIC → the hypervisor's br-int (OVN untags them onto the subport's logical port) and back: **two OVS bridges, both in user space here**, and the same-VM pair too turns around at the hypervisor. With 802.1Q devices in the VM (\`vlanDevice: kernel\`) and kernel OVS on the hypervisor, the VM's hop would be the kernel's; this machine has neither.`,
    '',
    table(
      ['nested ÷ N-Net on bare metal', 'same host (same VM)', 'across hosts (across VMs)'],
      [
        ['throughput', cell('gbps', 'same host'), cell('gbps', 'across hosts')],
        ['RTT (mean)', cell('rtt', 'same host'), cell('rtt', 'across hosts')],
        ['RTT (median)', cell('rttMedian', 'same host'), cell('rttMedian', 'across hosts')],
      ],
    ),
  ];
}
