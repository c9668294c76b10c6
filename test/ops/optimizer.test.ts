import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import type { Kernel } from '../../src/ops/kernel.js';
import type { AdamAttrs, MomentumAttrs, RmspropAttrs, SgdAttrs } from '../../src/ops/optimizer.js';
import { adam, adamValues, adamw, momentum, rateValues, rmsprop, sgd } from '../../src/ops/optimizer.js';
import { backends } from '../helpers/backends.js';
import type { Tolerance } from '../helpers/check.js';
import { expectClose, randn, reference, rng, runOn, tensor } from '../helpers/check.js';
import { f32 } from '../../src/core/shape.js';

const U = 2 ** -24; // float32 unit roundoff

// ------------------------------------------------------------------ error model
/**
 * A float32 value the GPU computes, as its exact value and a bound on the GPU's
 * distance from it: a running error bound (Higham, Accuracy and Stability, §3.3)
 * with WGSL's accuracy table: +, −, × correctly rounded (counted 2u for ±, since
 * WGSL lets the compiler reassociate and any order of our ≤ 3-term sums stays
 * within twice one rounding per term), x/y 2.5 ULP = 5u, sqrt "inherited from
 * 1/inverseSqrt" = 2 ULP then 2.5 ULP, 9u to first order, 10u with the rest.
 * Scalars (the uniform's, and the step's values lr, 1 − β1^t, 1 − β2^t, which
 * the host computes in float64) carry their float64→float32 rounding. Fusion
 * only removes roundings.
 */
class R {
  constructor(readonly v: number, readonly e: number) {}
}
const exact = (v: number) => new R(v, 0);
const constant = (c: number) => new R(c, Math.abs(Math.fround(c) - c));
const mag = (a: R) => Math.abs(a.v) + a.e;
const add = (a: R, b: R) => new R(a.v + b.v, a.e + b.e + 2 * U * (mag(a) + mag(b)));
const sub = (a: R, b: R) => add(a, new R(-b.v, b.e));
const mul = (a: R, b: R) => new R(a.v * b.v, Math.abs(a.v) * b.e + Math.abs(b.v) * a.e + a.e * b.e + U * mag(a) * mag(b));
const max0 = (a: R) => new R(Math.max(a.v, 0), a.e);
function div(a: R, b: R): R {
  if (Math.abs(b.v) <= b.e) throw new Error('error model: denominator not bounded away from 0');
  const q = a.v / b.v;
  const e = (a.e + Math.abs(q) * b.e) / (Math.abs(b.v) - b.e);
  return new R(q, e + 5 * U * (Math.abs(q) + e));
}
function sqrt(a: R): R {
  const r = Math.sqrt(a.v);
  const e = Math.max(Math.sqrt(a.v + a.e) - r, r - Math.sqrt(Math.max(a.v - a.e, 0)));
  return new R(r, e + 10 * U * Math.sqrt(a.v + a.e));
}

/** What a test names: the kernel's attributes plus the step's learning rate and (Adam) step number. */
type Hyper<A> = A & { readonly lr: number; readonly step?: number };

/** A kernel's attributes and its step values (input 1), as the training step computes them, from what a test names. */
function split<A>(k: Kernel<A>, { lr, step = 1, ...rest }: Hyper<A>): { attrs: A; values: number[] } {
  const attrs = rest as unknown as A;
  const { beta1, beta2 } = attrs as AdamAttrs;
  return { attrs, values: k === adam || k === adamw ? adamValues(k.name, lr, step, beta1, beta2) : rateValues(k.name, lr) };
}

/** Each model follows its WGSL entry point's order of operations: attrs → (g, old outputs) → new outputs. */
type Model<A> = (a: Hyper<A>) => (g: number, old: number[]) => R[];

const sgdModel: Model<SgdAttrs> = (a) => {
  const [lr, wd] = [constant(a.lr), constant(a.weightDecay ?? 0)];
  return (g, [p]) => [sub(exact(p), mul(lr, add(exact(g), mul(wd, exact(p)))))];
};

const momentumModel: Model<MomentumAttrs> = (a) => {
  const [lr, mu, wd] = [constant(a.lr), constant(a.momentum), constant(a.weightDecay ?? 0)];
  return (g, [p, v]) => {
    const G = add(exact(g), mul(wd, exact(p)));
    const V = add(mul(mu, exact(v)), G);
    const d = a.nesterov ? add(G, mul(mu, V)) : V;
    return [sub(exact(p), mul(lr, d)), V];
  };
};

const rmspropModel: Model<RmspropAttrs> = (a) => {
  const [lr, rho, omr] = [constant(a.lr), constant(a.rho ?? 0.9), constant(1 - (a.rho ?? 0.9))];
  const [mu, eps, wd] = [constant(a.momentum ?? 0), constant(a.epsilon ?? 1e-8), constant(a.weightDecay ?? 0)];
  const [withMomentum, centered] = [mu.v > 0, a.centered ?? false];
  return (g, old) => {
    const P = exact(old[0]);
    const G = add(exact(g), mul(wd, P));
    const S = add(mul(rho, exact(old[1])), mul(mul(omr, G), G));
    const MG = centered ? add(mul(rho, exact(old[old.length - 1])), mul(omr, G)) : S;
    const meanSquare = centered ? max0(sub(S, mul(MG, MG))) : S;
    const d = div(G, a.epsilonInsideSqrt ? sqrt(add(meanSquare, eps)) : add(sqrt(meanSquare), eps));
    const B = withMomentum ? add(mul(mu, exact(old[2])), d) : d;
    const out = [sub(P, mul(lr, B)), S];
    if (withMomentum) out.push(B);
    if (centered) out.push(MG);
    return out;
  };
};

function adamModel(decoupledDefault: boolean, wdDefault: number): Model<AdamAttrs> {
  return (a) => {
    const [b1, b2, eps, wd] = [a.beta1 ?? 0.9, a.beta2 ?? 0.999, a.epsilon ?? 1e-8, a.weightDecay ?? wdDefault];
    const decoupled = a.decoupled ?? decoupledDefault;
    const step = a.step ?? 1;
    const [lr, bc1, bc2] = [constant(a.lr), constant(1 - b1 ** step), constant(1 - b2 ** step)];
    const [beta1, omb1, beta2, omb2] = [constant(b1), constant(1 - b1), constant(b2), constant(1 - b2)];
    const l2 = constant(decoupled ? 0 : wd);
    // Per invocation, from the step's values: p·(1 − lr·wd), lr·√bc2/bc1 and ε·√bc2 (ε̂: ε).
    const decay = sub(exact(1), mul(lr, constant(decoupled ? wd : 0)));
    const root = sqrt(bc2);
    const epsHat = a.epsilonHat ? constant(eps) : mul(constant(eps), root);
    const stepSize = div(mul(lr, root), bc1);
    return (g, [p, m, v]) => {
      const G = add(exact(g), mul(l2, exact(p)));
      const M = add(mul(beta1, exact(m)), mul(omb1, G));
      const V = add(mul(beta2, exact(v)), mul(mul(omb2, G), G));
      return [sub(mul(exact(p), decay), div(mul(stepSize, M), add(sqrt(V), epsHat))), M, V];
    };
  };
}

function modelTolerances<A>(model: Model<A>, attrs: Hyper<A>, g: Float32Array, old: Float32Array[]): Tolerance[] {
  const atol = old.map(() => new Float64Array(g.length));
  const at = model(attrs);
  const olds = old.map(() => 0);
  for (let i = 0; i < g.length; i++) {
    for (let k = 0; k < old.length; k++) olds[k] = old[k][i];
    const rs = at(g[i], olds);
    for (let k = 0; k < rs.length; k++) atol[k][i] = rs[k].e;
  }
  const why = 'running error bound of the WGSL operations (see R): inputs exact, scalars rounded to f32, WGSL accuracy per op';
  return atol.map((a) => ({ atol: a, rtol: 0, why }));
}

// ------------------------------------------------------------------ hand-computed steps

/**
 * The float32 kernels against float64 formulas, relative to the result, on data
 * chosen without cancellation. The longest chain, 10 Adam steps, is within 26u
 * by the error model above carried across the steps (inputs rounded to float32
 * included); the others are shorter. A wrong formula misses by ≥ 1e-3 here.
 */
const HAND: Tolerance = { atol: 0, rtol: 32 * U, why: 'float32 evaluation of short cancellation-free formulas: ≤ 26u by the running bound' };

/** One step on `be`: outputs start from `old` (one array per output); returns the new outputs. */
async function step<A>(be: Backend, k: Kernel<A>, hyper: Hyper<A>, g: number[], old: number[][]): Promise<Float64Array[]> {
  const { attrs, values } = split(k, hyper);
  return runOn(be, k, [tensor([g.length], g), tensor([values.length], values)], attrs, old.map((o) => tensor([o.length], o)));
}

const zeros = (n: number) => new Array<number>(n).fill(0);
const sign = (x: number) => (x > 0 ? 1 : -1);

describe.each(backends)('optimizer updates on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it('sgd: p − lr·(g + wd·p)', async () => {
    const [p] = await step(be, sgd, { lr: 0.1, weightDecay: 0.01 }, [0.5, 0.25, -1], [[1, -2, 0.5]]);
    expectClose(p, [1 - 0.1 * (0.5 + 0.01 * 1), -2 - 0.1 * (0.25 + 0.01 * -2), 0.5 - 0.1 * (-1 + 0.01 * 0.5)], HAND, 'sgd'); // 0.949, -2.023, 0.5995
  });

  it('momentum: plain vs Nesterov over two steps, and weight decay inside the velocity', async () => {
    const attrs = { lr: 0.1, momentum: 0.9 };
    // Plain: v1 = g1, p1 = p0 − 0.1·v1; v2 = 0.9·v1 + g2, p2 = p1 − 0.1·v2.
    const [p1, v1] = await step(be, momentum, attrs, [0.5, -0.2], [[1, -0.5], [0, 0]]);
    expectClose(p1, [0.95, -0.48], HAND, 'p1');
    expectClose(v1, [0.5, -0.2], HAND, 'v1');
    const [p2, v2] = await step(be, momentum, attrs, [-0.25, -0.2], [[...p1], [...v1]]);
    expectClose(v2, [0.9 * 0.5 - 0.25, 0.9 * -0.2 - 0.2], HAND, 'v2'); // 0.2, -0.38
    expectClose(p2, [0.95 - 0.1 * 0.2, -0.48 - 0.1 * -0.38], HAND, 'p2'); // 0.93, -0.442
    // Nesterov: same velocities, p ← p − 0.1·(g + 0.9·v).
    const nest = { ...attrs, nesterov: true };
    const [q1, w1] = await step(be, momentum, nest, [0.5, -0.2], [[1, -0.5], [0, 0]]);
    expectClose(q1, [1 - 0.1 * (0.5 + 0.9 * 0.5), -0.5 - 0.1 * (-0.2 + 0.9 * -0.2)], HAND, 'nesterov p1'); // 0.905, -0.462
    const [q2] = await step(be, momentum, nest, [-0.25, -0.2], [[...q1], [...w1]]);
    expectClose(q2, [0.905 - 0.1 * (-0.25 + 0.9 * 0.2), -0.462 - 0.1 * (-0.2 + 0.9 * -0.38)], HAND, 'nesterov p2'); // 0.912, -0.4078
    // g' = 0.5 + 0.1·2 = 0.7; v = 0.9·1 + 0.7 = 1.6; p = 2 − 0.1·1.6 (Nesterov: 2 − 0.1·(0.7 + 0.9·1.6)).
    const [pw, vw] = await step(be, momentum, { ...attrs, weightDecay: 0.1 }, [0.5], [[2], [1]]);
    expectClose([pw[0], vw[0]], [1.84, 1.6], HAND, 'weight decay');
    const [pn] = await step(be, momentum, { ...nest, weightDecay: 0.1 }, [0.5], [[2], [1]]);
    expectClose(pn, [2 - 0.1 * (0.7 + 0.9 * 1.6)], HAND, 'weight decay, nesterov'); // 1.786
  });

  it('rmsprop: plain, ε placement, centered, momentum, weight decay', async () => {
    const lr = 0.01;
    // s1 = 0.1·0.5² = 0.025; p1 = 1 − 0.01·0.5/(√0.025 + 1e-8); then g = −0.25: s2 = 0.9·0.025 + 0.1·0.0625 = 0.02875.
    const [p1, s1] = await step(be, rmsprop, { lr }, [0.5], [[1], [0]]);
    expectClose([p1[0], s1[0]], [1 - (0.01 * 0.5) / (Math.sqrt(0.025) + 1e-8), 0.025], HAND, 'step 1');
    const [p2, s2] = await step(be, rmsprop, { lr }, [-0.25], [[p1[0]], [s1[0]]]);
    expectClose([p2[0], s2[0]], [p1[0] + (0.01 * 0.25) / (Math.sqrt(0.02875) + 1e-8), 0.02875], HAND, 'step 2');
    // ε = 0.1 makes the placements differ: 0.005/(0.158 + 0.1) = 0.01937 (PyTorch) vs 0.005/√0.125 = 0.01414 (Keras, tf.js).
    const [pt] = await step(be, rmsprop, { lr, epsilon: 0.1 }, [0.5], [[1], [0]]);
    const [pk] = await step(be, rmsprop, { lr, epsilon: 0.1, epsilonInsideSqrt: true }, [0.5], [[1], [0]]);
    expectClose([pt[0], pk[0]], [1 - 0.005 / (Math.sqrt(0.025) + 0.1), 1 - 0.005 / Math.sqrt(0.125)], HAND, 'ε placement');
    // Centered: mg1 = 0.1·0.5 = 0.05, variance 0.025 − 0.05² = 0.0225 = 0.15².
    const [pc, sc, mgc] = await step(be, rmsprop, { lr, centered: true }, [0.5], [[1], [0], [0]]);
    expectClose([pc[0], sc[0], mgc[0]], [1 - (0.01 * 0.5) / (0.15 + 1e-8), 0.025, 0.05], HAND, 'centered');
    // Momentum: b1 = 0.5/(√0.025 + ε); b2 = 0.9·b1 − 0.25/(√0.02875 + ε); p ← p − 0.01·b.
    const mom = { lr, momentum: 0.9 };
    const b1 = 0.5 / (Math.sqrt(0.025) + 1e-8);
    const [pm1, sm1, bm1] = await step(be, rmsprop, mom, [0.5], [[1], [0], [0]]);
    expectClose([pm1[0], bm1[0]], [1 - 0.01 * b1, b1], HAND, 'momentum step 1');
    const b2 = 0.9 * b1 - 0.25 / (Math.sqrt(0.02875) + 1e-8);
    const [pm2, , bm2] = await step(be, rmsprop, mom, [-0.25], [[pm1[0]], [sm1[0]], [bm1[0]]]);
    expectClose([pm2[0], bm2[0]], [1 - 0.01 * b1 - 0.01 * b2, b2], HAND, 'momentum step 2');
    // Centered with momentum: outputs (p, s, buffer, mean gradient).
    const both = await step(be, rmsprop, { ...mom, centered: true }, [0.5], [[1], [0], [0], [0]]);
    expectClose(both.map((o) => o[0]), [1 - (0.01 * 0.5) / (0.15 + 1e-8), 0.025, 0.5 / (0.15 + 1e-8), 0.05], HAND, 'centered momentum');
    // Weight decay: g' = 0.3 + 0.1·2 = 0.5, so the numbers of step 1 with p0 = 2.
    const [pw] = await step(be, rmsprop, { lr, weightDecay: 0.1 }, [0.3], [[2], [0]]);
    expectClose(pw, [2 - (0.01 * 0.5) / (Math.sqrt(0.025) + 1e-8)], HAND, 'weight decay');
  });

  it('adam: bias correction makes step 1 ≈ lr·sign(g); step 2; 10 steps of a constant gradient', async () => {
    const lr = 0.01;
    const g = [0.5, -3, 1e-3];
    // Step 1: m = 0.1·g, v = 0.001·g², m̂ = g, v̂ = g², so p moves by lr·g/(|g| + ε) ≈ lr·sign(g).
    const [p1, m1, v1] = await step(be, adam, { lr, step: 1 }, g, [[1, 1, 1], zeros(3), zeros(3)]);
    expectClose(m1, [0.05, -0.3, 1e-4], HAND, 'm1');
    expectClose(v1, [0.00025, 0.009, 1e-9], HAND, 'v1');
    expectClose(p1, g.map((x) => 1 - (lr * x) / (Math.abs(x) + 1e-8)), HAND, 'p1');
    expectClose(p1, g.map((x) => 1 - lr * sign(x)), { atol: lr * 1e-5 + 32 * U, rtol: 0, why: 'lr·ε/|g| ≤ lr·1e-5, plus HAND' }, 'p1 ≈ 1 − lr·sign(g)');
    // Step 2 with g = −0.25 on the first element: m = 0.9·0.05 − 0.025 = 0.02, v = 0.999·0.00025 + 0.001·0.0625 = 0.00031225.
    const [p2, m2, v2] = await step(be, adam, { lr, step: 2 }, [-0.25], [[p1[0]], [m1[0]], [v1[0]]]);
    const [mHat, vHat] = [0.02 / (1 - 0.9 ** 2), 0.00031225 / (1 - 0.999 ** 2)];
    expectClose([m2[0], v2[0]], [0.02, 0.00031225], HAND, 'm2, v2');
    expectClose(p2, [p1[0] - (lr * mHat) / (Math.sqrt(vHat) + 1e-8)], HAND, 'p2');
    // Constant g: m_t = (1 − 0.9^t)·g and v_t = (1 − 0.999^t)·g², so every step moves p by lr·g/(|g| + ε).
    let st = [[1, 1, 1], zeros(3), zeros(3)];
    for (let t = 1; t <= 10; t++) st = (await step(be, adam, { lr, step: t }, g, st)).map((a) => [...a]);
    expectClose(st[0], g.map((x) => 1 - (10 * lr * x) / (Math.abs(x) + 1e-8)), HAND, 'p10');
    expectClose(st[1], g.map((x) => (1 - 0.9 ** 10) * x), HAND, 'm10');
    expectClose(st[2], g.map((x) => (1 - 0.999 ** 10) * x * x), HAND, 'v10');
  });

  it('adam: AdamW decays p itself, L2 goes through the normalisation; Keras ε̂ placement', async () => {
    const attrs = { lr: 0.1, step: 1, weightDecay: 0.01 };
    // L2: g' = g + 0.01·2 = [0.02, 1.02], normalised to ≈ ±1: both elements move by ≈ lr = 0.1.
    const [pl] = await step(be, adam, attrs, [0, 1], [[2, 2], zeros(2), zeros(2)]);
    expectClose(pl, [2 - (0.1 * 0.02) / (0.02 + 1e-8), 2 - (0.1 * 1.02) / (1.02 + 1e-8)], HAND, 'adam L2'); // ≈ 1.9, 1.9
    // AdamW: p·(1 − lr·wd) = 1.998, then the Adam step of g alone (0 for g = 0).
    const [pd] = await step(be, adam, { ...attrs, decoupled: true }, [0, 1], [[2, 2], zeros(2), zeros(2)]);
    expectClose(pd, [2 * (1 - 0.1 * 0.01), 2 * (1 - 0.1 * 0.01) - 0.1 / (1 + 1e-8)], HAND, 'adam decoupled'); // 1.998, 1.898
    const [pw] = await step(be, adamw, { lr: 0.1, step: 1 }, [0, 1], [[2, 2], zeros(2), zeros(2)]);
    expect([...pw]).toEqual([...pd]); // adamw is adam with decoupled: true and PyTorch's default wd 0.01
    // Keras: p −= lr·√(1−β2)/(1−β1)·m/(√v + ε̂); g = 0.01, ε = 1e-3: m = 0.001, √v = √1e-7.
    const eh = { lr: 0.01, step: 1, epsilon: 1e-3 };
    const [pt] = await step(be, adam, eh, [0.01], [[1], [0], [0]]);
    const [pk] = await step(be, adam, { ...eh, epsilonHat: true }, [0.01], [[1], [0], [0]]);
    const keras = 1 - ((0.01 * Math.sqrt(0.001)) / 0.1) * (0.001 / (Math.sqrt(1e-7) + 1e-3)); // 0.99760
    expectClose([pt[0], pk[0]], [1 - (0.01 * 0.01) / (0.01 + 1e-3), keras], HAND, 'ε vs ε̂'); // 0.99091 vs 0.99760
  });

  it('centered rmsprop: a variance rounded below 0 counts as 0 (no NaN)', async () => {
    const n = 64;
    const g = Float32Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * 2 ** ((i % 16) - 8) * (1 + i / 7));
    const ts = [be.allocate([n]), be.allocate([n]), be.allocate([n]), be.allocate([n])];
    ts.forEach((t) => be.write(t, new Float32Array(n)));
    be.write(ts[0], g);
    const lr = be.allocate([1]);
    be.write(lr, [0.01]);
    for (let t = 0; t < 300; t++) be.run(rmsprop, [ts[0], lr], ts.slice(1), { centered: true, epsilon: 1e-4 });
    const p = await be.read(ts[1]);
    [...ts, lr].forEach((t) => be.free(t));
    expect(p.every(Number.isFinite)).toBe(true);
    // A state with s < mg² (as rounding can leave it): s' = 0.9·0.2 + 0.1·0.25 = 0.205 < mg'² = 0.25, so the variance counts as 0.
    const [p1, s1, mg1] = await step(be, rmsprop, { lr: 0.01, centered: true, epsilon: 1e-4 }, [0.5], [[1], [0.2], [0.5]]);
    expectClose([p1[0], s1[0], mg1[0]], [1 - (0.01 * 0.5) / (0 + 1e-4), 0.205, 0.5], HAND, 'clamped variance'); // p = -49
  });
});

// ------------------------------------------------------------------ GPU vs float64 reference

type Case = readonly [label: string, kernel: Kernel<never>, attrs: (t: number) => Hyper<never>, model: Model<never>];
const c = <A>(label: string, kernel: Kernel<A>, attrs: (t: number) => Hyper<A>, model: Model<A>) => [label, kernel, attrs, model] as unknown as Case;
const CASES: Case[] = [
  c('sgd', sgd, () => ({ lr: 0.1, weightDecay: 0.01 }), sgdModel),
  c('momentum', momentum, () => ({ lr: 0.1, momentum: 0.9, weightDecay: 0.01 }), momentumModel),
  c('momentum nesterov', momentum, () => ({ lr: 0.1, momentum: 0.9, nesterov: true }), momentumModel),
  c('rmsprop', rmsprop, () => ({ lr: 0.01, weightDecay: 0.01 }), rmspropModel),
  c('rmsprop √(s+ε), momentum', rmsprop, () => ({ lr: 0.01, epsilon: 1e-7, epsilonInsideSqrt: true, momentum: 0.9 }), rmspropModel),
  c('rmsprop centered', rmsprop, () => ({ lr: 0.01, centered: true, epsilon: 1e-6 }), rmspropModel),
  c('rmsprop centered momentum', rmsprop, () => ({ lr: 0.01, centered: true, momentum: 0.5 }), rmspropModel),
  c('adam L2', adam, (t) => ({ lr: 1e-3, step: t, weightDecay: 0.01 }), adamModel(false, 0)),
  c('adamw', adamw, (t) => ({ lr: 1e-3, step: t }), adamModel(true, 0.01)),
  c('adam ε̂', adam, (t) => ({ lr: 1e-3, step: t, epsilon: 1e-7, epsilonHat: true }), adamModel(false, 0)),
];

// 1, a prime, one past the workgroup, a multiple of it, and an MNIST Dense layer's weights.
const SIZES = [1, 7, 257, 1024, 784 * 1000];
const STEPS = 3;

describe.each(backends)('optimizer updates vs the float64 reference on %s', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  // State stays on the device between steps; each step is checked against the reference run from the state the device held before it.
  describe.each(CASES)('%s', (label, kernel, attrsAt, model) => {
    // The large case is for the GPU's dispatch grid and buffer sizes; the CPU loop is the same at every size.
    it.each(name === 'webgpu' ? SIZES : SIZES.slice(0, -1))(`${STEPS} steps, n=%i`, async (n) => {
      const r = rng(n + label.length);
      const first = split(kernel, attrsAt(1));
      const outs = kernel.outputs([f32([n]), f32([first.values.length])], first.attrs).map(() => be.allocate([n]));
      let old = outs.map((_, k) => (k === 0 ? (randn(r, [n]).data as Float32Array) : new Float32Array(n)));
      outs.forEach((t, k) => be.write(t, old[k]));
      const gt = be.allocate([n]);
      const vt = be.allocate([first.values.length]);
      for (let t = 1; t <= STEPS; t++) {
        const g = randn(r, [n]);
        const hyper = attrsAt(t);
        const { attrs, values } = split(kernel, hyper);
        be.write(gt, g.data);
        be.write(vt, values);
        be.run(kernel, [gt, vt], outs, attrs);
        const got = (await Promise.all(outs.map((o) => be.read(o)))).map((o) => o as Float32Array);
        // The reference reads the step's values in float64, as the host computed them; the device reads them rounded.
        const want = reference(kernel, [g, { info: f32([values.length]), data: Float64Array.from(values) }], attrs, old.map((o) => tensor([n], o)));
        const tols = modelTolerances(model, hyper, g.data as Float32Array, old);
        got.forEach((o, k) => expectClose(o, want[k], tols[k], `${label} n=${n} step ${t} output ${k}`));
        old = got;
      }
      [gt, vt, ...outs].forEach((x) => be.free(x));
    });
  });

  // Past 65535 workgroups of 256 the dispatch folds into 2-D. lr = 1, p = 0 makes p' = −g exactly, so any misplaced index shows.
  it.skipIf(name !== 'webgpu')('sgd over 65535·256 + 3 elements (2-D dispatch)', async () => {
    const n = 65535 * 256 + 3;
    const g = Float32Array.from({ length: n }, (_, i) => (i % 4099) - 2049);
    const [gt, pt, lr] = [be.allocate([n]), be.allocate([n]), be.allocate([1])];
    be.write(gt, g);
    be.write(pt, new Float32Array(n));
    be.write(lr, [1]);
    be.run(sgd, [gt, lr], [pt], {});
    const p = await be.read(pt);
    [gt, pt, lr].forEach((x) => be.free(x));
    const bad = p.findIndex((x, i) => x !== -g[i]);
    expect(bad, `first wrong element ${bad}: got ${p[bad]}, expected ${-g[bad]}`).toBe(-1);
  });

  it('refuses bad attributes, step values and mismatched state, naming the op and the value', () => {
    const [g, a, b, c, d, one, three] = [[3], [3], [3], [3], [4], [1], [3]].map((s) => be.allocate(s));
    const bad = (k: Kernel<never>, attrs: unknown, outs = [a], values = k === adam || k === adamw ? three : one) => () => be.run(k, [g, values], outs, attrs as never);
    expect(bad(sgd, { weightDecay: -1 })).toThrow(/sgd: weightDecay must be >= 0, got -1/);
    expect(bad(momentum, { momentum: 1 }, [a, b])).toThrow(/momentum: momentum must be in \[0, 1\), got 1/);
    expect(bad(momentum, { momentum: 0, nesterov: true }, [a, b])).toThrow(/nesterov needs momentum > 0/);
    expect(bad(rmsprop, { rho: 1 }, [a, b])).toThrow(/rmsprop: rho must be in \[0, 1\), got 1/);
    expect(bad(rmsprop, { epsilon: 0 }, [a, b])).toThrow(/rmsprop: epsilon must be a normal positive float32/);
    expect(bad(rmsprop, { centered: true }, [a, b])).toThrow(/rmsprop: expects 3 output tensor\(s\), got 2/);
    expect(bad(adam, { beta1: 1 }, [a, b, c])).toThrow(/adam: beta1 must be in \[0, 1\), got 1/);
    expect(bad(adam, { beta2: -0.1 }, [a, b, c])).toThrow(/adam: beta2 must be in \[0, 1\), got -0.1/);
    expect(bad(adamw, { epsilon: 1e-40 }, [a, b, c])).toThrow(/adamw: epsilon must be a normal positive float32/);
    expect(bad(adam, { epsilon: 1e-37 }, [a, b, c])).toThrow(/epsilon·√\(1−beta2\) = .* \(its size at step 1\) is below float32's normal range/);
    expect(bad(adam, {}, [a, b, d])).toThrow(/adam: output 2 must be f32\[3\], got f32\[4\]/);
    // The step's values: their shape, and what the host checks before it writes them.
    expect(bad(sgd, {}, [a], three)).toThrow(/sgd: input 1 must be the step's values, f32\[1\] \[lr\], got f32\[3\]/);
    expect(bad(adam, {}, [a, b, c], one)).toThrow(/adam: input 1 must be the step's values, f32\[3\] \[lr, 1 − beta1\^step, 1 − beta2\^step\], got f32\[1\]/);
    expect(() => be.run(sgd, [g], [a], {})).toThrow(/sgd: input 1 must be the step's values, f32\[1\] \[lr\], got nothing/);
    expect(() => rateValues('sgd', -0.1)).toThrow(/sgd: lr must be >= 0, got -0.1/);
    expect(() => rateValues('sgd', NaN)).toThrow(/sgd: lr must be a finite float32 number, got NaN/);
    expect(() => rateValues('sgd', 1e39)).toThrow(/sgd: lr must be a finite float32 number, got 1e\+39/);
    expect(() => adamValues('adam', 0.1, 0)).toThrow(/adam: step must be an integer >= 1 \(the first step is 1\), got 0/);
    expect(() => adamValues('adam', 0.1, 1.5)).toThrow(/adam: step must be an integer >= 1/);
    expect(() => adamValues('adam', -1, 1)).toThrow(/adam: lr must be >= 0, got -1/);
    const gi = be.allocate([3], 'i32');
    expect(() => be.run(sgd, [gi, one], [a], {})).toThrow(/sgd: gradient must be f32, got i32\[3\]/);
    [g, a, b, c, d, one, three, gi].forEach((x) => be.free(x));
  });
});

// ------------------------------------------------------------------ conventions

describe("momentum: PyTorch's form and Keras' give the same trajectory for a constant lr", () => {
  /** Keras 3 SGD: v ← μ·v − lr·g; p ← p + v (Nesterov: p ← p + μ·v − lr·g), written out here in float64. */
  function keras(p: Float64Array, v: Float64Array, g: Float64Array, lr: number, mu: number, nesterov: boolean) {
    for (let i = 0; i < p.length; i++) {
      v[i] = mu * v[i] - lr * g[i];
      p[i] += nesterov ? mu * v[i] - lr * g[i] : v[i];
    }
  }

  it.each([false, true])('nesterov=%s', (nesterov) => {
    const r = rng(11);
    const n = 13;
    const p0 = Float64Array.from(randn(r, [n]).data);
    const grads = Array.from({ length: 20 }, () => Float64Array.from(randn(r, [n]).data));
    const run = (lrAt: (t: number) => number) => {
      const [pt, vt, pk, vk] = [Float64Array.from(p0), new Float64Array(n), Float64Array.from(p0), new Float64Array(n)];
      grads.forEach((g, t) => {
        momentum.cpu([g, Float64Array.of(lrAt(t))], [pt, vt], [f32([n]), f32([1])], { momentum: 0.9, nesterov });
        keras(pk, vk, g, lrAt(t), 0.9, nesterov);
      });
      return [pt, pk];
    };
    // Constant lr: equal up to float64 rounding (20 steps of O(1) values: ~1e-14).
    const [pt, pk] = run(() => 0.05);
    expectClose(pk, pt, { atol: 1e-12, rtol: 1e-12, why: 'same real-number trajectory, float64 rounding only' }, 'constant lr');
    // A decaying lr separates them: PyTorch rescales the old velocity by the new lr.
    const [qt, qk] = run((t) => 0.05 * 0.8 ** t);
    const gap = Math.max(...qt.map((x, i) => Math.abs(x - qk[i])));
    expect(gap).toBeGreaterThan(1e-3);
  });
});
