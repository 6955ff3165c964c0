/** Neutron failures → NeutronError, from the HTTP status and the `{"NeutronError": …}` body (pure). */
import { NeutronError, type NeutronReason } from '../errors/index.ts';

export interface NeutronFault {
  type: string | undefined;
  message: string | undefined;
  detail: string | undefined;
}

/** The `{"NeutronError": {"type", "message", "detail"}}` body, or whatever text there is. */
export function parseFault(body: string): NeutronFault {
  try {
    const j = JSON.parse(body) as Record<string, unknown>;
    const ne = (j.NeutronError ?? j.error ?? j) as Record<string, unknown> | string;
    if (typeof ne === 'string') return { type: undefined, message: ne, detail: undefined };
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    return { type: str(ne.type), message: str(ne.message), detail: str(ne.detail) };
  } catch {
    const text = body
      .replace(/<[^>]*>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    return { type: undefined, message: text ? text.slice(0, 300) : undefined, detail: undefined };
  }
}

export interface FaultContext {
  /** What was being done: `creating port "web-1" on network 3f1c…`. */
  what: string;
  /** The fixed IP asked for, if any (for ip-taken messages). */
  ip?: string | undefined;
  subnetId?: string | undefined;
}

const IP_TAKEN = /IP address (\S+) already allocated in subnet (\S+?)\.?$/;

export function reasonFor(status: number, type: string | undefined): NeutronReason {
  if (type === 'IpAddressAlreadyAllocated') return 'ip-taken';
  if (type === 'OverQuota' || status === 413) return 'over-quota';
  if (status === 409) return 'conflict';
  if (status === 404) return 'not-found';
  if (status === 403 || status === 401) return 'forbidden';
  if (status >= 500 || status === 429) return 'unavailable';
  return 'bad-request';
}

/** A failed Neutron reply → NeutronError whose message says what failed, with which object, and why. */
export function errorFromResponse(status: number, body: string, ctx: FaultContext): NeutronError {
  const fault = parseFault(body);
  const reason = reasonFor(status, fault.type);
  const tag = `HTTP ${status}${fault.type ? ` ${fault.type}` : ''}`;
  const opts = { status, neutronType: fault.type, details: fault.detail };
  if (reason === 'ip-taken') {
    const m = fault.message ? IP_TAKEN.exec(fault.message) : null;
    const ip = m?.[1] ?? ctx.ip ?? 'the requested IP';
    const subnet = m?.[2] ?? ctx.subnetId;
    return new NeutronError(
      'ip-taken',
      `${ctx.what}: IP ${ip} is already allocated${subnet ? ` in subnet ${subnet}` : ''} (${tag})`,
      opts,
    );
  }
  const why = fault.message ?? (reason === 'unavailable' ? 'Neutron is unavailable' : 'no reason given');
  return new NeutronError(reason, `${ctx.what} failed: ${why} (${tag})`, opts);
}
