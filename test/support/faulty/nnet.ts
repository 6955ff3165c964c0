/** `nnet` with the test fault hook installed first (ESM evaluates imports in order). */
import './hook.ts';
import '../../../src/bin/nnet.ts';
