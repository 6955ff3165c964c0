/**
 * N-Net's ports on the integration bridge, through OVSDB: ensure / delete / list / find by
 * iface-id, and waiting until ovs-vswitchd has applied a change (next_cfg/cur_cfg, as ovs-vsctl does).
 */
import { PlugError } from '../errors/index.ts';
import { fromMap, fromSet, fromUuid, OvsdbClient, type OvsdbOp, type OvsdbRow, ovsMap } from './ovsdb.ts';
import type { PlugDriver, PlugSettings } from './settings.ts';

/** external_ids keys N-Net writes on its Interface rows (besides the ones OVN/Neutron read). */
export const NNET_IDS = {
  driver: 'nnet-driver',
  podNamespace: 'nnet-pod-namespace',
  podName: 'nnet-pod-name',
  containerId: 'nnet-container-id',
  ifname: 'nnet-ifname',
  netns: 'nnet-netns',
} as const;

export interface OvsPort {
  name: string; // Port/Interface name (nn… / nno…)
  type: string; // Interface type: 'internal' or '' (a system device such as a veth)
  ifaceId: string | undefined; // external_ids:iface-id = the Neutron port id
  externalIds: Record<string, string>;
  ofport: number | undefined; // undefined until vswitchd attached it; -1 on failure
  /** ifindex of the device as vswitchd opened it: a new value after a restart recreated the tap. */
  ifindex: number | undefined;
  error: string | undefined; // Interface:error, set by vswitchd when it cannot open the device
  /**
   * From nnet-driver: a pod NIC's driver, 'host' for a node's own port, 'pool' for a warm pool
   * port no pod holds (its tap waits in ovs-vswitchd's netns); undefined: not N-Net's.
   */
  driver: PlugDriver | 'host' | 'pool' | undefined;
}

/** Open connections kept for reuse, by socket and timeout (a long-running process: nnet-agent). */
let shared: Map<string, Promise<OvsdbClient>> | undefined;

/**
 * From now on withOvsdb reuses one connection per OVSDB socket (transactions and the monitors
 * that wait for ovs-vswitchd run side by side on it; a closed one is replaced on the next use)
 * instead of connecting for each call. Returns the function that closes them and stops sharing.
 */
export function shareOvsdbConnections(): () => void {
  const mine = new Map<string, Promise<OvsdbClient>>();
  shared = mine;
  return () => {
    if (shared === mine) shared = undefined;
    for (const c of mine.values()) c.then((x) => x.close()).catch(() => undefined);
  };
}

function sharedClient(pool: Map<string, Promise<OvsdbClient>>, settings: PlugSettings): Promise<OvsdbClient> {
  const key = `${settings.ovsdbSocket} ${settings.timeoutMs}`;
  let p = pool.get(key);
  if (!p) {
    const made = OvsdbClient.connect(settings.ovsdbSocket, settings.timeoutMs);
    p = made;
    pool.set(key, made);
    made.then(
      (c) => c.onClose(() => pool.get(key) === made && pool.delete(key)),
      () => pool.get(key) === made && pool.delete(key),
    );
  }
  return p;
}

export async function withOvsdb<T>(settings: PlugSettings, fn: (c: OvsdbClient) => Promise<T>): Promise<T> {
  if (shared) return fn(await sharedClient(shared, settings));
  const c = await OvsdbClient.connect(settings.ovsdbSocket, settings.timeoutMs);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

const IFACE_COLUMNS = ['_uuid', 'name', 'type', 'external_ids', 'ofport', 'ifindex', 'error'];

function toPort(row: Record<string, unknown>): OvsPort {
  const ids = fromMap(row.external_ids);
  const ofport = fromSet(row.ofport)[0];
  const error = fromSet(row.error)[0];
  const ifindex = fromSet(row.ifindex)[0];
  const driver = ids[NNET_IDS.driver];
  return {
    name: String(row.name),
    type: String(row.type ?? ''),
    ifaceId: ids['iface-id'],
    externalIds: ids,
    ofport: typeof ofport === 'number' ? ofport : undefined,
    ifindex: typeof ifindex === 'number' ? ifindex : undefined,
    error: typeof error === 'string' ? error : undefined,
    driver:
      driver === 'internal' || driver === 'hybrid' || driver === 'host' || driver === 'pool'
        ? driver
        : undefined,
  };
}

type Row = Record<string, unknown>;
/** The rows of a select result (empty when absent). */
function rowsOf(result: Row | undefined): Row[] {
  return Array.isArray(result?.rows) ? (result.rows as Row[]) : [];
}

interface BridgeRow {
  uuid: string;
  ports: string[];
}

function bridgeOps(bridge: string): OvsdbOp[] {
  return [
    {
      op: 'select',
      table: 'Bridge',
      where: [['name', '==', bridge]],
      columns: ['_uuid', 'datapath_type', 'ports'],
    },
  ];
}

function checkBridge(settings: PlugSettings, rows: unknown): BridgeRow {
  const row = (rows as Record<string, unknown>[] | undefined)?.[0];
  if (!row)
    throw new PlugError(
      'ovs-unavailable',
      `bridge ${settings.bridge} does not exist in the OVSDB at ${settings.ovsdbSocket}`,
    );
  const dp = String(row.datapath_type ?? '') || 'system';
  if (dp !== settings.datapathType)
    throw new PlugError(
      'ovs-unavailable',
      `bridge ${settings.bridge} has datapath_type ${dp} but the deploy settings say ${settings.datapathType}`,
    );
  return {
    uuid: fromUuid(row._uuid)!,
    ports: fromSet(row.ports)
      .map(fromUuid)
      .filter((u): u is string => !!u),
  };
}

/** Resolves once ovs-vswitchd's cur_cfg has reached `target` (it has applied our transaction). */
export async function waitApplied(c: OvsdbClient, target: number, timeoutMs: number): Promise<void> {
  const monId = `nnet-cfg-${target}-${Math.random().toString(36).slice(2)}`;
  let done: () => void = () => {};
  const reached = new Promise<void>((r) => {
    done = r;
  });
  const seen = (rows: Record<string, { new?: OvsdbRow }> | undefined) => {
    for (const r of Object.values(rows ?? {}))
      if (typeof r.new?.cur_cfg === 'number' && r.new.cur_cfg >= target) done();
  };
  const initial = await c.monitor(monId, { Open_vSwitch: { columns: ['cur_cfg'] } }, (u) =>
    seen(u.Open_vSwitch),
  );
  seen(initial.Open_vSwitch);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new PlugError(
            'ovs-unavailable',
            `ovs-vswitchd did not apply the change to ${c.socketPath} within ${timeoutMs} ms (is it running?)`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([reached, timeout]);
  } finally {
    clearTimeout(timer);
    await c.cancelMonitor(monId);
  }
}

const BUMP_CFG: OvsdbOp[] = [
  { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['next_cfg', '+=', 1]] },
  { op: 'select', table: 'Open_vSwitch', where: [], columns: ['next_cfg'] },
];

/** Runs `ops` plus a next_cfg bump in one transaction and waits until vswitchd applied it. */
async function transactApplied(
  c: OvsdbClient,
  ops: OvsdbOp[],
  timeoutMs: number,
): Promise<Record<string, unknown>[]> {
  const res = await c.transact([...ops, ...BUMP_CFG]);
  const cfg = rowsOf(res[res.length - 1])[0]?.next_cfg;
  if (typeof cfg === 'number') await waitApplied(c, cfg, timeoutMs);
  return res;
}

export interface EnsurePortSpec {
  name: string;
  type: 'internal' | '';
  externalIds: Record<string, string>;
  /** An access port of this VLAN (Port:tag). */
  tag?: number | undefined;
}

/**
 * Makes `spec.name` a port of the bridge with these external_ids (like `--may-exist add-port`, but
 * also correcting external_ids), then waits until vswitchd has applied it. Returns whether the port
 * was created by this call. Refuses to take over an interface that carries another iface-id.
 */
export async function ensurePort(
  c: OvsdbClient,
  settings: PlugSettings,
  spec: EnsurePortSpec,
): Promise<{ created: boolean; port: OvsPort }> {
  for (let attempt = 0; ; attempt++) {
    const res = await c.transact([
      ...bridgeOps(settings.bridge),
      { op: 'select', table: 'Port', where: [['name', '==', spec.name]], columns: ['_uuid', 'tag'] },
      { op: 'select', table: 'Interface', where: [['name', '==', spec.name]], columns: IFACE_COLUMNS },
    ]);
    const br = checkBridge(settings, res[0]?.rows);
    const portRow = rowsOf(res[1])[0];
    const ifaceRow = rowsOf(res[2])[0];
    if (portRow && ifaceRow) {
      const port = toPort(ifaceRow);
      const wantId = spec.externalIds['iface-id'];
      if (port.ifaceId !== undefined && port.ifaceId !== wantId)
        throw new PlugError(
          'link',
          `OVS port ${spec.name} already exists for iface-id ${port.ifaceId}, not ${wantId ?? '(none)'}`,
        );
      if (!br.ports.includes(fromUuid(portRow._uuid)!))
        throw new PlugError('link', `OVS port ${spec.name} exists but not on bridge ${settings.bridge}`);
      const ids = { ...port.externalIds, ...spec.externalIds };
      const same =
        port.type === spec.type &&
        Object.entries(spec.externalIds).every(([k, v]) => port.externalIds[k] === v);
      if (!same) {
        // Only our keys change, in place: ovn-controller writes ovn-installed into the same map,
        // and a whole-map write from what we read a moment ago could take it away again (it
        // sets the key once per claim, so the port would never look claimed).
        const where = [['_uuid', '==', ['uuid', fromUuid(ifaceRow._uuid)!]]];
        const changedKeys = Object.keys(spec.externalIds).filter(
          (k) => port.externalIds[k] !== spec.externalIds[k],
        );
        await transactApplied(
          c,
          [
            ...(port.type === spec.type
              ? []
              : [{ op: 'update' as const, table: 'Interface', where, row: { type: spec.type } }]),
            {
              op: 'mutate',
              table: 'Interface',
              where,
              mutations: [
                ['external_ids', 'delete', ['set', changedKeys]],
                [
                  'external_ids',
                  'insert',
                  ovsMap(Object.fromEntries(changedKeys.map((k) => [k, spec.externalIds[k]!]))),
                ],
              ],
            },
          ],
          settings.timeoutMs,
        );
      }
      if (spec.tag !== undefined && portRow.tag !== spec.tag)
        await transactApplied(
          c,
          [
            {
              op: 'update',
              table: 'Port',
              where: [['_uuid', '==', ['uuid', fromUuid(portRow._uuid)!]]],
              row: { tag: spec.tag },
            },
          ],
          settings.timeoutMs,
        );
      return { created: false, port: { ...port, type: spec.type, externalIds: ids } };
    }
    try {
      await transactApplied(
        c,
        [
          {
            op: 'insert',
            table: 'Interface',
            'uuid-name': 'iface',
            row: { name: spec.name, type: spec.type, external_ids: ovsMap(spec.externalIds) },
          },
          {
            op: 'insert',
            table: 'Port',
            'uuid-name': 'port',
            row: {
              name: spec.name,
              interfaces: ['named-uuid', 'iface'],
              ...(spec.tag !== undefined ? { tag: spec.tag } : {}),
            },
          },
          {
            op: 'mutate',
            table: 'Bridge',
            where: [['_uuid', '==', ['uuid', br.uuid]]],
            mutations: [['ports', 'insert', ['set', [['named-uuid', 'port']]]]],
          },
        ],
        settings.timeoutMs,
      );
    } catch (e) {
      // A concurrent creator won the unique name index: look again.
      if (attempt < 2 && e instanceof PlugError && e.details === 'constraint violation') continue;
      throw e;
    }
    const port = await getInterface(c, spec.name);
    if (port?.error)
      throw new PlugError('link', `ovs-vswitchd could not create interface ${spec.name}: ${port.error}`);
    return { created: true, port: port ?? { ...toPort({ name: spec.name }), type: spec.type } };
  }
}

/** A Port's VLAN tag (an access port), or undefined. */
export async function portTag(c: OvsdbClient, name: string): Promise<number | undefined> {
  const [r] = await c.transact([
    { op: 'select', table: 'Port', where: [['name', '==', name]], columns: ['tag'] },
  ]);
  const tag = rowsOf(r)[0]?.tag;
  return typeof tag === 'number' ? tag : undefined;
}

/** One Interface row by name, or undefined. */
export async function getInterface(c: OvsdbClient, name: string): Promise<OvsPort | undefined> {
  const [r] = await c.transact([
    { op: 'select', table: 'Interface', where: [['name', '==', name]], columns: IFACE_COLUMNS },
  ]);
  const row = rowsOf(r)[0];
  return row ? toPort(row) : undefined;
}

/**
 * Removes the named ports from the bridge when `keep(port)` is false for their interface (ports
 * already gone are success), and waits until vswitchd has let go of them. Returns the names removed.
 */
export async function deletePorts(
  c: OvsdbClient,
  settings: PlugSettings,
  names: readonly string[],
  shouldDelete: (p: OvsPort) => boolean = () => true,
): Promise<string[]> {
  if (names.length === 0) return [];
  const res = await c.transact([
    ...bridgeOps(settings.bridge),
    ...names.flatMap((n): OvsdbOp[] => [
      { op: 'select', table: 'Port', where: [['name', '==', n]], columns: ['_uuid'] },
      { op: 'select', table: 'Interface', where: [['name', '==', n]], columns: IFACE_COLUMNS },
    ]),
  ]);
  const rows = rowsOf(res[0])[0];
  if (!rows)
    throw new PlugError('ovs-unavailable', `bridge ${settings.bridge} does not exist in ${c.socketPath}`);
  const bridgeUuid = fromUuid(rows._uuid)!;
  const doomed: string[] = [];
  const uuids: ['uuid', string][] = [];
  names.forEach((n, i) => {
    const port = rowsOf(res[1 + 2 * i])[0];
    const iface = rowsOf(res[2 + 2 * i])[0];
    if (!port) return;
    if (iface && !shouldDelete(toPort(iface))) return;
    doomed.push(n);
    uuids.push(['uuid', fromUuid(port._uuid)!]);
  });
  if (uuids.length === 0) return [];
  // Port and Interface are not root tables: removing the Port from Bridge.ports garbage-collects both.
  await transactApplied(
    c,
    [
      {
        op: 'mutate',
        table: 'Bridge',
        where: [['_uuid', '==', ['uuid', bridgeUuid]]],
        mutations: [['ports', 'delete', ['set', uuids]]],
      },
    ],
    settings.timeoutMs,
  );
  return doomed;
}

/** N-Net's ports on the bridge (interfaces carrying nnet-driver), for reconcile / GC. */
export async function listNnetPorts(c: OvsdbClient, settings: PlugSettings): Promise<OvsPort[]> {
  const res = await c.transact([
    ...bridgeOps(settings.bridge),
    { op: 'select', table: 'Port', where: [], columns: ['_uuid', 'interfaces'] },
    { op: 'select', table: 'Interface', where: [], columns: IFACE_COLUMNS },
  ]);
  const br = rowsOf(res[0])[0];
  if (!br)
    throw new PlugError('ovs-unavailable', `bridge ${settings.bridge} does not exist in ${c.socketPath}`);
  const onBridge = new Set(fromSet(br.ports).map(fromUuid));
  const ifaces = new Set<string>();
  for (const p of rowsOf(res[1]))
    if (onBridge.has(fromUuid(p._uuid))) for (const i of fromSet(p.interfaces)) ifaces.add(fromUuid(i) ?? '');
  return rowsOf(res[2])
    .filter((i) => ifaces.has(fromUuid(i._uuid) ?? '-'))
    .map(toPort)
    .filter((p) => p.driver !== undefined)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The interface carrying external_ids:iface-id=`ifaceId` (N-Net's first if several), or undefined. */
export async function findPortByIfaceId(c: OvsdbClient, ifaceId: string): Promise<OvsPort | undefined> {
  const [r] = await c.transact([
    {
      op: 'select',
      table: 'Interface',
      where: [['external_ids', 'includes', ovsMap({ 'iface-id': ifaceId })]],
      columns: IFACE_COLUMNS,
    },
  ]);
  const ports = rowsOf(r).map(toPort);
  return ports.find((p) => p.driver !== undefined) ?? ports[0];
}

export type InterfaceEvent =
  | { kind: 'initial' | 'insert' | 'modify'; port: OvsPort }
  | { kind: 'delete'; port: OvsPort };

export interface InterfaceWatch {
  close(): Promise<void>;
  /** Settles when the connection ends (rejects when it ended by an error, e.g. ovsdb-server stopped). */
  readonly ended: Promise<void>;
}

/**
 * Watches the Interface table (RFC 7047 monitor): `onEvent` sees every existing interface once
 * ('initial') and then each insert / modify (e.g. ifindex changing when a restarted ovs-vswitchd
 * recreated an internal port's tap) / delete, until close().
 */
export async function watchInterfaces(
  settings: PlugSettings,
  onEvent: (e: InterfaceEvent) => void,
): Promise<InterfaceWatch> {
  const c = await OvsdbClient.connect(settings.ovsdbSocket, settings.timeoutMs);
  const ended = new Promise<void>((resolve, reject) => c.onClose((err) => (err ? reject(err) : resolve())));
  ended.catch(() => {}); // observed by the caller if it wants to
  const cols = IFACE_COLUMNS.filter((k) => k !== '_uuid');
  const emit = (
    kind: 'initial' | 'update',
    rows: Record<string, { old?: OvsdbRow; new?: OvsdbRow }> | undefined,
  ) => {
    for (const [uuid, r] of Object.entries(rows ?? {})) {
      if (r.new) {
        const port = toPort({ ...r.new, _uuid: ['uuid', uuid] });
        onEvent({ kind: kind === 'initial' ? 'initial' : r.old ? 'modify' : 'insert', port });
      } else if (r.old) onEvent({ kind: 'delete', port: toPort({ ...r.old, _uuid: ['uuid', uuid] }) });
    }
  };
  try {
    const initial = await c.monitor(
      'nnet-interfaces',
      { Interface: { columns: cols, select: { initial: true, insert: true, delete: true, modify: true } } },
      (u) => emit('update', u.Interface),
    );
    emit('initial', initial.Interface);
  } catch (e) {
    c.close();
    throw e;
  }
  return {
    ended,
    close: async () => {
      await c.cancelMonitor('nnet-interfaces');
      c.close();
    },
  };
}

/**
 * Replaces N-Net's keys (nnet-*) in an interface's external_ids with `ids` in one mutation, keeping
 * the others (iface-id, attached-mac, OVN's ovn-installed): how a pool port changes hands.
 */
export async function setNnetIds(
  c: OvsdbClient,
  name: string,
  ids: Readonly<Record<string, string>>,
): Promise<void> {
  const port = await getInterface(c, name);
  if (!port) throw new PlugError('link', `OVS interface ${name} does not exist`);
  const stale = Object.keys(port.externalIds).filter((k) => k.startsWith('nnet-'));
  await c.transact([
    {
      op: 'mutate',
      table: 'Interface',
      where: [['name', '==', name]],
      mutations: [
        ['external_ids', 'delete', ['set', stale]],
        ['external_ids', 'insert', ovsMap(ids)],
      ],
    },
  ]);
}

/** Whether ovn-controller serves this node (Open_vSwitch external_ids:ovn-remote is set). */
export async function ovnConfigured(c: OvsdbClient): Promise<boolean> {
  const [r] = await c.transact([
    { op: 'select', table: 'Open_vSwitch', where: [], columns: ['external_ids'] },
  ]);
  return fromMap(rowsOf(r)[0]?.external_ids)['ovn-remote'] !== undefined;
}
