/**
 * The paper's deep-customisation flow for one pod: validate → reserve → record → kubectl →
 * undo on kubectl failure; and the reverse on delete: kubectl → release. Signals are deferred
 * meanwhile (dispatch.ts): one that arrives before kubectl starts undoes the reservation.
 */

import type { CommandContext, Handler } from '../context.ts';
import { toCliFailure } from '../exit.ts';
import type { ExitStatus } from '../kubectl.ts';
import type { NetworkBackend, Reservation } from '../reservations.ts';
import { interruptedStatus } from '../signals.ts';
import type { PodNetworkRequest } from '../types.ts';

/** Undoes reservations after kubectl failed; an undo failure is reported, kubectl's status kept. */
export async function undoAll(reservations: readonly Reservation[], ctx: CommandContext): Promise<void> {
  for (const reservation of [...reservations].reverse()) {
    try {
      await reservation.undo();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      ctx.io.stderr(
        `Warning: could not undo an N-Net reservation (kubenetctl gc releases it later): ${message}\n`,
      );
    }
  }
}

export function warnNotConfigured(ctx: CommandContext, what: string): void {
  ctx.io.stderr(
    `Warning: N-Net is not configured (no cluster registered): ${what} without its N-Net network settings\n`,
  );
}

/** Undoes the reservations and reports the signal, if one arrived before kubectl was started. */
export async function stopIfInterrupted(
  reservations: readonly Reservation[],
  ctx: CommandContext,
): Promise<ExitStatus | undefined> {
  const signal = ctx.interrupted();
  if (!signal) return undefined;
  await undoAll(reservations, ctx);
  return interruptedStatus(signal);
}

/**
 * Releases the reservations of pods kubectl has deleted. A failure is reported per pod (kubectl's
 * work stands) and makes the exit code 1.
 */
export async function releaseDeleted(
  backend: NetworkBackend,
  refs: readonly { namespace: string; pod: string }[],
  ctx: CommandContext,
  result: ExitStatus,
): Promise<ExitStatus> {
  let failed = false;
  for (const ref of refs) {
    try {
      await backend.releasePod(ref);
    } catch (err) {
      failed = true;
      const failure = toCliFailure(err, ctx.io.env).message.replace(/^error: /, '');
      ctx.io.stderr(
        `error: pod ${ref.namespace}/${ref.pod} was deleted, but its N-Net reservation was not released: ${failure}` +
          `hint: release it with 'kubenetctl delete podnetwork ${ref.pod} -n ${ref.namespace} --force'\n`,
      );
    }
  }
  return failed ? { code: 1 } : result;
}

export const runPod: Handler<'pod'> = async (command, ctx) => {
  const native = ctx.native!;
  // 1. validate: the parser checked names, the IP and the CIDR; Neutron checks the rest in 2.
  const backend = await ctx.backend();
  if (!backend) {
    if (!command.dryRun) warnNotConfigured(ctx, `pod ${command.pod} is created`);
    return ctx.kubectl(native);
  }
  const request: PodNetworkRequest = {
    namespace: command.namespace ?? (await ctx.defaultNamespace()),
    pod: command.pod,
    ...(command.network !== undefined ? { network: command.network } : {}),
    ...(command.subnet !== undefined ? { subnet: command.subnet } : {}),
    ips: command.ips,
    ...(command.mac !== undefined ? { mac: command.mac } : {}),
    ...(command.securityGroups !== undefined ? { securityGroups: command.securityGroups } : {}),
    ...(command.extraNics !== undefined ? { extraNics: command.extraNics } : {}),
  };
  if (command.dryRun) {
    // Checked against Neutron, nothing reserved.
    await backend.checkPod(request);
    return ctx.kubectl(native);
  }
  // 2–3. reserve the port (the IP) and record the pod's config.
  const reservation = await backend.reservePod(request);
  const stopped = await stopIfInterrupted([reservation], ctx);
  if (stopped) return stopped;
  // 4. kubectl creates the pod; 5. a failure undoes the reservation.
  let result: ExitStatus;
  try {
    result = await ctx.kubectl(native);
  } catch (err) {
    await undoAll([reservation], ctx);
    throw err;
  }
  if (result.code !== 0) await undoAll([reservation], ctx);
  else if (command.rm) return releaseDeleted(backend, [request], ctx, result);
  return result;
};

export const releasePods: Handler<'release-pod'> = async (command, ctx) => {
  const result = await ctx.kubectl(ctx.native!);
  if (result.code !== 0) return result;
  const backend = await ctx.backend();
  if (!backend) return result;
  const namespace = command.namespace ?? (await ctx.defaultNamespace());
  return releaseDeleted(
    backend,
    command.pods.map((pod) => ({ namespace, pod })),
    ctx,
    result,
  );
};
