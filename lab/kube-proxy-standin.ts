/**
 * A STAND-IN FOR KUBE-PROXY (iptables mode), for the lab and the tests only: kube-proxy itself
 * needs a Kubernetes API server, and none can run here. It writes, in a node's netns, the nat
 * rules kube-proxy writes for ClusterIP Services — `KUBE-SERVICES` → `KUBE-SVC-…` → `KUBE-SEP-…`
 * DNAT, with its masquerade mark (`KUBE-MARK-MASQ`, 0x4000) and `KUBE-POSTROUTING` — through
 * iptables-nft, as kube-proxy does on Debian. N-Net adds nothing for Services beyond its own
 * masquerade table (src/plug/netfilter.ts); the point is to show that kube-proxy's own rules work
 * unchanged on an N-Net node.
 */
import { createHash } from 'node:crypto';
import { run } from './sh.ts';

export interface StandinService {
  /** namespace/name:port, as kube-proxy names a service port. */
  name: string;
  clusterIp: string;
  port: number;
  protocol: 'tcp' | 'udp';
  endpoints: { ip: string; port: number }[];
}

/** kube-proxy's chain names: a prefix and 16 base32 characters of a SHA-256. */
function chain(prefix: 'KUBE-SVC' | 'KUBE-SEP', key: string): string {
  const b32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = createHash('sha256').update(key).digest();
  let bits = '';
  for (const b of bytes.subarray(0, 10)) bits += b.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i < 16; i++) out += b32[Number.parseInt(bits.slice(i * 5, i * 5 + 5), 2)];
  return `${prefix}-${out}`;
}

/** The `iptables-restore --noflush` input for these Services (table nat). */
export function standinRules(services: readonly StandinService[]): string {
  const chains = ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'];
  const rules: string[] = [
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  ];
  for (const s of services) {
    const svc = chain('KUBE-SVC', `${s.name}/${s.protocol}`);
    chains.push(svc);
    rules.push(
      `-A KUBE-SERVICES -d ${s.clusterIp}/32 -p ${s.protocol} -m comment --comment "${s.name} cluster IP" -m ${s.protocol} --dport ${s.port} -j ${svc}`,
    );
    s.endpoints.forEach((ep, i) => {
      const sep = chain('KUBE-SEP', `${s.name}/${s.protocol}/${ep.ip}:${ep.port}`);
      chains.push(sep);
      const left = s.endpoints.length - i;
      const pick = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(11)}` : '';
      rules.push(`-A ${svc} -m comment --comment "${s.name} -> ${ep.ip}:${ep.port}"${pick} -j ${sep}`);
      rules.push(`-A ${sep} -s ${ep.ip}/32 -m comment --comment "${s.name}" -j KUBE-MARK-MASQ`);
      rules.push(
        `-A ${sep} -p ${s.protocol} -m comment --comment "${s.name}" -m ${s.protocol} -j DNAT --to-destination ${ep.ip}:${ep.port}`,
      );
    });
  }
  return ['*nat', ...chains.map((c) => `:${c} - [0:0]`), ...rules, 'COMMIT', ''].join('\n');
}

const JUMPS: [string, string, string][] = [
  ['PREROUTING', 'kubernetes service portals', 'KUBE-SERVICES'],
  ['OUTPUT', 'kubernetes service portals', 'KUBE-SERVICES'],
  ['POSTROUTING', 'kubernetes postrouting rules', 'KUBE-POSTROUTING'],
];

/** Writes the stand-in's rules in `netns` (replacing its earlier ones). */
export async function applyStandin(netns: string, services: readonly StandinService[]): Promise<void> {
  await run('iptables-restore', ['--noflush'], { netns, input: standinRules(services) });
  for (const [builtin, comment, target] of JUMPS) {
    const spec = [builtin, '-m', 'comment', '--comment', comment, '-j', target];
    const has = await run('iptables', ['-t', 'nat', '-C', ...spec], { netns, allowFail: true });
    if (has.code !== 0) await run('iptables', ['-t', 'nat', '-A', ...spec], { netns });
  }
}

/** Removes every chain and jump the stand-in made in `netns` (nothing else of the nat table). */
export async function removeStandin(netns: string): Promise<void> {
  for (const [builtin, comment, target] of JUMPS)
    await run('iptables', ['-t', 'nat', '-D', builtin, '-m', 'comment', '--comment', comment, '-j', target], {
      netns,
      allowFail: true,
    });
  const listed = await run('iptables', ['-t', 'nat', '-S'], { netns, allowFail: true });
  const ours = [...new Set([...listed.stdout.matchAll(/^-N (KUBE-[A-Z0-9-]+)$/gm)].map((m) => m[1]!))];
  for (const c of ours) await run('iptables', ['-t', 'nat', '-F', c], { netns, allowFail: true });
  for (const c of ours) await run('iptables', ['-t', 'nat', '-X', c], { netns, allowFail: true });
}
