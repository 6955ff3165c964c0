/**
 * STUB: the lead replaces this module with the real verbs (ADD/DEL/CHECK/STATUS/GC against
 * Keystone, Neutron, the store and OVS). src/bin/nnet.ts imports it lazily, so only commands that
 * run a verb load it. Until then every verb fails with an internal error (CNI code 100).
 */
import type { Verbs } from '../index.ts';

const notYet = (verb: string) => async (): Promise<never> => {
  throw new Error(`nnet ${verb} is not implemented yet`);
};

export const verbs: Verbs = {
  add: notYet('ADD'),
  del: notYet('DEL'),
  check: notYet('CHECK'),
  status: notYet('STATUS'),
  gc: notYet('GC'),
};
