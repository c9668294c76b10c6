import type { RecurrentAttrs } from '../../src/ops/recurrent.js';
import { RECURRENT_GATES } from '../../src/ops/recurrent.js';
import type { HostTensor } from './check.js';
import { expectClose, FD_TOL, numericGradient } from './check.js';

/**
 * A recurrent sequence's gradients against finite differences of `loss`
 * over its inputs (xp, whh, and bhh where the cell takes one): d(xp) as the
 * backward kernel gave it, and the weight gradients as the rule records them
 * from its outputs, dwhh = hprevᵀ·drec over all the [B·T] rows and dbhh =
 * drec's column sums. Shared by the plain and the masked kernels' tests.
 */
export function expectSequenceGradients(a: RecurrentAttrs, ins: HostTensor[], hprev: ArrayLike<number>, dxp: Float64Array, drec: Float64Array, loss: (ins: HostTensor[]) => number): void {
  const U = a.units;
  const GU = RECURRENT_GATES[a.cell] * U;
  const rows = hprev.length / U;
  const dwhh = new Float64Array(U * GU);
  for (let r = 0; r < rows; r++) for (let k = 0; k < U; k++) for (let m = 0; m < GU; m++) dwhh[k * GU + m] += hprev[r * U + k] * drec[r * GU + m];
  const at = (k: number) => (v: Float64Array) => loss(ins.map((t, i) => (i === k ? { info: t.info, data: v } : t)));
  expectClose(dxp, numericGradient(at(0), Float64Array.from(ins[0].data)), FD_TOL, 'd(xp)');
  expectClose(dwhh, numericGradient(at(1), Float64Array.from(ins[1].data)), FD_TOL, 'd(whh)');
  if (a.cell === 'gru' && a.resetAfter !== false) {
    const dbhh = new Float64Array(GU);
    for (let r = 0; r < rows; r++) for (let m = 0; m < GU; m++) dbhh[m] += drec[r * GU + m];
    expectClose(dbhh, numericGradient(at(2), Float64Array.from(ins[2].data)), FD_TOL, 'd(bhh)');
  }
}
