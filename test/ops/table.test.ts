import { describe, expect, it } from 'vitest';
import { selfcheckCases } from '../../src/cli/selfcheck.js';
import { SELFCHECKS } from '../../src/ops/selfcheck-cases.js';
import { gradients } from '../../src/graph/autodiff.js';
import { Graph } from '../../src/graph/graph.js';
import { GRADIENTS, NOT_DIFFERENTIABLE } from '../../src/graph/rules.js';
import * as families from '../../src/ops/all.js';
import { conv2dBackwardInput } from '../../src/ops/conv.js';
import { reduceSum } from '../../src/ops/reduce.js';
import { KERNEL_NAMES, KERNELS } from '../../src/ops/table.js';

/*
 * The op table is derived from the op families' exports, and tsc makes the
 * gradient and self-check tables cover it. These tests check at run time what
 * the types cannot: that the derivation finds every kernel under its own name,
 * and that the two tables agree with it exactly.
 */
describe('the op table', () => {
  it('holds every exported kernel, each under its own name', () => {
    const exported = Object.entries(families).filter(([, v]) => typeof v === 'object' && v !== null && 'gpu' in v && 'cpu' in v);
    expect(KERNEL_NAMES.length).toBe(exported.length);
    expect(KERNEL_NAMES.length).toBeGreaterThan(50);
    for (const name of KERNEL_NAMES) expect(KERNELS[name].name, name).toBe(name);
    // The non-kernel exports (constants, helpers, the losses' index) stay out.
    expect(KERNEL_NAMES).not.toContain('losses');
    expect(KERNEL_NAMES).not.toContain('ACTIVATIONS');
  });

  it('gives every kernel a gradient rule or a reason it has none, never both', () => {
    const rules = new Set(Object.keys(GRADIENTS));
    const none = new Set(Object.keys(NOT_DIFFERENTIABLE));
    for (const name of KERNEL_NAMES) expect(rules.has(name) !== none.has(name), name).toBe(true);
    expect(rules.size + none.size).toBe(KERNEL_NAMES.length);
  });

  it('autodiff names the reason when a loss depends on a kernel without a rule', () => {
    const g = new Graph();
    const dy = g.param('dy', [1, 3, 3, 1]);
    const dx = g.op(conv2dBackwardInput, [dy, g.input('k', [2, 2, 1, 1])], { inputShape: [1, 4, 4, 1] }, 'dx');
    const L = g.op(reduceSum, [dx], {}, 'L');
    expect(() => gradients(g, L, [dy])).toThrow(/kernel conv2dBackwardInput has no gradient rule \(it is conv2d's gradient\), but the loss depends on it through dy, k/);
  });

  it('self-checks every kernel that launches, on inputs its shape rule accepts', () => {
    const cases = selfcheckCases();
    for (const name of KERNEL_NAMES) {
      const checks = SELFCHECKS[name];
      if ('none' in checks) {
        expect(KERNELS[name].view, `${name} has no self-check; only views may skip`).toBe(true);
        continue;
      }
      expect(checks.length, name).toBeGreaterThan(0);
    }
    for (const c of cases) expect(() => c.kernel.outputs(c.inputs, c.attrs), c.name).not.toThrow();
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });
});
