/**
 * SIGINT/SIGTERM/SIGHUP while N-Net changes Neutron and its store: instead of dying half-way
 * (a port reserved but no config recorded, a network created but not recorded), kubenetctl
 * notes the signal, finishes or undoes the step it is in, and then exits as the signal would
 * have made it exit. kubectl, when it runs meanwhile, still gets the signal (kubectl.ts).
 */
import { type ExitStatus, FORWARDED_SIGNALS, signalExitCode } from './kubectl.ts';

export interface SignalGuard {
  /** The first signal received since the guard was set, if any. */
  received(): NodeJS.Signals | undefined;
  /** Stops deferring: from now on the signals act as usual. */
  release(): void;
}

export function deferSignals(): SignalGuard {
  let first: NodeJS.Signals | undefined;
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => {
      first ??= signal;
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  let released = false;
  return {
    received: () => first,
    release() {
      if (released) return;
      released = true;
      for (const [signal, handler] of handlers) process.off(signal, handler);
    },
  };
}

/** How a command interrupted by `signal` ends: as if the signal had killed it. */
export function interruptedStatus(signal: NodeJS.Signals): ExitStatus {
  return { code: signalExitCode(signal), signal };
}
