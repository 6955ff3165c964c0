/**
 * N-Net's resource commands. Phase 2 implements them on the store and the Neutron client; the
 * parser already checked their arguments.
 */
import { InputError } from '../../errors/index.ts';
import type { Handler } from '../context.ts';
import type { NetworkCommandKind } from '../types.ts';

function notYet<K extends NetworkCommandKind>(
  what: (command: Parameters<Handler<K>>[0]) => string,
): Handler<K> {
  return async (command) => {
    throw new InputError('invalid-argument', `kubenetctl ${what(command)}: not implemented yet`);
  };
}

export const get = notYet<'get'>((c) => `get ${c.noun}`);
export const describe = notYet<'describe'>((c) => `describe ${c.noun}`);
export const remove = notYet<'delete'>((c) => `delete ${c.noun}`);
export const createNetwork = notYet<'create-network'>(() => 'create network');
export const createSubnet = notYet<'create-subnet'>(() => 'create subnet');
export const createRouter = notYet<'create-router'>(() => 'create router');
export const createCluster = notYet<'create-cluster'>(() => 'create cluster');
export const createPodNetwork = notYet<'create-podnetwork'>(() => 'create podnetwork');
export const connectRouter = notYet<'connect-router'>(() => 'connect router');
export const disconnectRouter = notYet<'disconnect-router'>(() => 'disconnect router');
export const gc = notYet<'gc'>(() => 'gc');
