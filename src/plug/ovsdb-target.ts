/**
 * Where ovsdb-server listens, in Open vSwitch's own syntax: `unix:/path` (or a bare absolute
 * path) and `tcp:HOST:PORT` (`tcp:[::1]:6640` for IPv6). `ssl:` is refused: N-Net's OVSDB client
 * speaks JSON-RPC over a plain socket and has no certificate settings, and a setting that is
 * accepted but ignored would be worse than none. Imports nothing: the CNI config parser uses it.
 *
 *   parseOvsdbTarget('tcp:127.0.0.1:6640'); // { kind: 'tcp', host: '127.0.0.1', port: 6640 }
 *   parseOvsdbTarget('/var/run/openvswitch/db.sock'); // { kind: 'unix', path: '/var/run/openvswitch/db.sock' }
 */

export type OvsdbTarget = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export const OVSDB_TARGET_USAGE = 'unix:/absolute/path, /absolute/path or tcp:HOST:PORT';

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

function tcpTarget(rest: string): OvsdbTarget | { problem: string } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(rest);
  const [, v6, name, digits] = m ?? [];
  const host = v6 ?? name;
  const hostOk =
    v6 !== undefined ? IPV6.test(v6) && v6.includes(':') : name !== undefined && HOSTNAME.test(name);
  if (!host || !hostOk)
    return { problem: `must be ${OVSDB_TARGET_USAGE} (an IPv6 address in brackets: tcp:[::1]:6640)` };
  const port = Number(digits);
  if (port < 1 || port > 65535) return { problem: 'has a TCP port outside 1–65535' };
  return { kind: 'tcp', host, port };
}

/** The target, or what is wrong with the text. */
export function parseOvsdbTarget(s: string): OvsdbTarget | { problem: string } {
  const isPath = (p: string) => p.startsWith('/') && !/[\s\0]/.test(p);
  if (isPath(s)) return { kind: 'unix', path: s };
  if (s.startsWith('unix:')) {
    const path = s.slice(5);
    return isPath(path) ? { kind: 'unix', path } : { problem: `must be ${OVSDB_TARGET_USAGE}` };
  }
  if (s.startsWith('tcp:')) return tcpTarget(s.slice(4));
  if (s.startsWith('ssl:'))
    return {
      problem: `ssl: is not supported (N-Net's OVSDB client speaks plain unix and tcp sockets, with no certificate settings); use ${OVSDB_TARGET_USAGE}, tcp only on a trusted network`,
    };
  return { problem: `must be ${OVSDB_TARGET_USAGE}` };
}

/** How a target is written in messages and in PlugSettings.ovsdbSocket: the path, or tcp:HOST:PORT. */
export function formatOvsdbTarget(t: OvsdbTarget): string {
  if (t.kind === 'unix') return t.path;
  return `tcp:${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}
