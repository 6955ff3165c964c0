/**
 * N-Net's resource commands, by verb and noun. The parser already checked their arguments; each
 * noun's module does the work (loaded only when its command runs).
 */
import { InputError } from '../../errors/index.ts';
import type { Handler } from '../context.ts';
import type { Noun } from '../types.ts';

const networks = () => import('./networks.ts');
const subnets = () => import('./subnets.ts');
const routers = () => import('./routers.ts');
const clusters = () => import('./clusters.ts');
const podnetworks = () => import('./podnetworks.ts');
const pools = () => import('./pools.ts');

/** Nouns only `get` takes (the grammar's rows say so; the parser refuses the rest). */
function getOnly(noun: Noun, verb: string): never {
  throw new InputError('invalid-argument', `kubenetctl ${verb} does not take ${noun}s`);
}

/** --all is about Neutron's resources; clusters and podnetworks are N-Net's own. */
function checkAll(noun: Noun, all: boolean | undefined): void {
  if (all && (noun === 'cluster' || noun === 'podnetwork' || noun === 'pool'))
    throw new InputError(
      'invalid-argument',
      `--all lists networks, subnets and routers N-Net does not manage; for ${noun}s use -A (all namespaces)`,
    );
}

export const get: Handler<'get'> = async (command, ctx) => {
  checkAll(command.noun, command.all);
  switch (command.noun) {
    case 'network':
      return (await networks()).getNetworks(command, ctx);
    case 'subnet':
      return (await subnets()).getSubnets(command, ctx);
    case 'router':
      return (await routers()).getRouters(command, ctx);
    case 'cluster':
      return (await clusters()).getClusters(command, ctx);
    case 'podnetwork':
      return (await podnetworks()).getPodNetworks(command, ctx);
    case 'pool':
      return (await pools()).getPools(command, ctx);
  }
};

export const describe: Handler<'describe'> = async (command, ctx) => {
  switch (command.noun) {
    case 'network':
      return (await networks()).describeNetworks(command, ctx);
    case 'subnet':
      return (await subnets()).describeSubnets(command, ctx);
    case 'router':
      return (await routers()).describeRouters(command, ctx);
    case 'cluster':
      return (await clusters()).describeClusters(command, ctx);
    case 'podnetwork':
      return (await podnetworks()).describePodNetworks(command, ctx);
    case 'pool':
      return getOnly(command.noun, 'describe');
  }
};

export const remove: Handler<'delete'> = async (command, ctx) => {
  if (command.force && command.noun !== 'podnetwork')
    throw new InputError('invalid-argument', '--force applies to podnetworks only');
  switch (command.noun) {
    case 'network':
      return (await networks()).deleteNetworks(command, ctx);
    case 'subnet':
      return (await subnets()).deleteSubnets(command, ctx);
    case 'router':
      return (await routers()).deleteRouters(command, ctx);
    case 'cluster':
      return (await clusters()).deleteClusters(command, ctx);
    case 'podnetwork':
      return (await podnetworks()).deletePodNetworks(command, ctx);
    case 'pool':
      return getOnly(command.noun, 'delete');
  }
};

export const createNetwork: Handler<'create-network'> = async (c, ctx) =>
  (await networks()).createNetwork(c, ctx);
export const createSubnet: Handler<'create-subnet'> = async (c, ctx) =>
  (await subnets()).createSubnet(c, ctx);
export const createRouter: Handler<'create-router'> = async (c, ctx) =>
  (await routers()).createRouter(c, ctx);
export const createCluster: Handler<'create-cluster'> = async (c, ctx) =>
  (await clusters()).createCluster(c, ctx);
export const setCluster: Handler<'set-cluster'> = async (c, ctx) => (await clusters()).setCluster(c, ctx);
export const createPodNetwork: Handler<'create-podnetwork'> = async (c, ctx) =>
  (await podnetworks()).createPodNetwork(c, ctx);
export const setPodNetwork: Handler<'set-podnetwork'> = async (c, ctx) =>
  (await podnetworks()).setPodNetwork(c, ctx);
export const connectRouter: Handler<'connect-router'> = async (c, ctx) =>
  (await routers()).connectRouter(c, ctx);
export const disconnectRouter: Handler<'disconnect-router'> = async (c, ctx) =>
  (await routers()).disconnectRouter(c, ctx);
export const gc: Handler<'gc'> = async (c, ctx) => (await import('./gc.ts')).gc(c, ctx);
