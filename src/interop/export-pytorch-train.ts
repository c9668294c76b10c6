// What the PyTorch export's model.py needs to go on training: the compiled
// loss, the regularizers' penalty, and the optimizer with its state in
// torch's names and layouts. Only numbers, sanitized identifiers and escaped
// literals (python-source.ts) go into the code written here.
import { channelsFirstKernel, reorderGates, TORCH_GRU_ORDER, transposed } from './export-common.js';
import { checkOptimizer, learningRateAt, makeOptimizer } from '../optim/optimizers.js';
import type { LearningRate } from '../optim/schedules.js';
import { pyBool, pyNum, pyStr, pyStrList } from './python-source.js';
import type { SafetensorsTensor } from './safetensors.js';
import { encodeSafetensors } from './safetensors.js';

/**
 * How a webgrad weight becomes its torch tensor: as it is, a dense (or
 * SimpleRNN / LSTM) kernel transposed, a conv kernel permuted, a GRU kernel
 * transposed with its gate blocks from Keras' z, r, h to torch's r, z, n
 * ('gruGates'), a GRU bias reordered so ('gruBias'). model.py's _to_webgrad
 * and _from_webgrad hold the same list; the optimizer's slots move by it too.
 */
export type Conversion = 'same' | 'linear' | 'conv' | 'gruGates' | 'gruBias';

/** One tensor of the state_dict: its torch key, the webgrad weight it comes from, and how. */
export interface Mapped {
  readonly key: string;
  readonly name: string;
  readonly conversion: Conversion;
  readonly shape: number[];
  readonly trainable: boolean;
}

/** A webgrad weight (or optimizer slot, laid out like it) in torch's layout: [in, out] → [out, in]; [kh, kw, in, out] → [out, in, kh, kw]; GRU gates reordered. */
export function toTorch(conversion: Conversion, shape: number[], data: Float32Array): { shape: number[]; data: Float32Array } {
  switch (conversion) {
    case 'same':
      return { shape, data };
    case 'linear':
      return { shape: [shape[1], shape[0]], data: transposed(shape, data) };
    case 'conv': {
      const [kh, kw, cin, cout] = shape;
      return { shape: [cout, cin, kh, kw], data: channelsFirstKernel(shape, data) };
    }
    case 'gruGates': {
      // [K, 3U] → [3U, K]: then each gate is U whole rows of K.
      const [K, GU] = shape;
      return { shape: [GU, K], data: reorderGates(transposed(shape, data), TORCH_GRU_ORDER, (GU / 3) * K) };
    }
    case 'gruBias':
      return { shape, data: reorderGates(data, TORCH_GRU_ORDER, shape[0] / 3) };
  }
}

/** model.penalty()'s terms for a layer's regularizers: l1·Σ|w| + l2·Σw², as webgrad adds them to the loss. `a` is a sanitized module name. */
export function penaltyCode(a: string, kernel: { l1: number; l2: number } | undefined, bias: { l1: number; l2: number } | undefined): string[] {
  return penaltyTerms(a, [[kernel, 'weight'], [bias, 'bias']]);
}

/** model.penalty()'s terms for regularizers on named tensors of module `a` (a sum of |w| or w² does not change when torch transposes or reorders a weight). */
export function penaltyTerms(a: string, on: readonly (readonly [{ l1: number; l2: number } | undefined, string])[]): string[] {
  const terms: string[] = [];
  for (const [r, part] of on) {
    if (!r) continue;
    if (r.l1) terms.push(`p = p + ${pyNum(r.l1)} * self.${a}.${part}.abs().sum()`);
    if (r.l2) terms.push(`p = p + ${pyNum(r.l2)} * self.${a}.${part}.pow(2).sum()`);
  }
  return terms;
}

/**
 * loss_fn(output, target, x)'s body for the compiled loss; the output is the
 * model's with logits=True (see forward). A class per step (a character
 * model: output [n, steps, classes], labels [n, steps]) is flattened to rows
 * first: torch's cross_entropy would read the steps as the class axis, and
 * webgrad counts every step 1/steps of its sample, which is the mean over
 * all n·steps rows. `masked`: the output still carries the mask of an
 * Embedding with maskZero (x's ids 0 are padding), so, as webgrad weighs
 * them, a padded step counts nothing and the batch's loss is the mean over
 * its real steps (a batch of padding only: 0).
 */
export function lossCode(loss: unknown, masked = false): string[] {
  // The loss over every step as a row: [n·steps, classes] against [n·steps].
  const rows = (f: string, extra = '') => `${f}(output.reshape(-1, output.shape[-1]), target.reshape(-1).long()${extra})`;
  if (masked && (loss === 'sparseCategoricalCrossentropy' || loss === 'nll')) {
    const f = loss === 'nll' ? 'F.nll_loss' : 'F.cross_entropy';
    return [
      'real = (x != 0).reshape(-1).to(output.dtype)  # maskZero: the padded steps count nothing',
      `return (${rows(f, ", reduction='none'")} * real).sum() / real.sum().clamp(min=1)`,
    ];
  }
  if (masked) return [`raise NotImplementedError(${pyStr(`a masked loss ${JSON.stringify(loss) ?? String(loss)} is not carried over to torch by this export`)})`];
  switch (loss) {
    case 'sparseCategoricalCrossentropy':
      return [`return ${rows('F.cross_entropy')}`];
    case 'categoricalCrossentropy':
      return ['return -(target * torch.log_softmax(output, dim=-1)).sum(dim=-1).mean()'];
    case 'binaryCrossentropy':
      return ['return F.binary_cross_entropy_with_logits(output, target)'];
    case 'meanSquaredError':
      return ['return (output - target).pow(2).mean()'];
    case 'meanAbsoluteError':
      return ['return (output - target).abs().mean()'];
    case 'nll':
      return [`return ${rows('F.nll_loss')}`];
    default:
      return [`raise NotImplementedError(${pyStr(`the loss ${JSON.stringify(loss) ?? String(loss)} is not carried over to torch by this export`)})`];
  }
}

/** What the export writes of an optimizer: make_optimizer's body, its state file, and where its rule differs from webgrad's. */
export interface OptimizerExport {
  /** The lines that return the torch optimizer of `params`. */
  readonly code: string;
  /** clip_gradients' body: the clipping of `params`' gradients, as webgrad's before its update. */
  readonly clip: string[];
  /** make_scheduler's body: the LambdaLR of the schedule from the next step on, or None. */
  readonly scheduler: string[];
  readonly file: Uint8Array | null;
  /** The state names per slot, in webgrad's slot order. */
  readonly names: string[];
  readonly step: number;
  readonly differs: string | null;
}

/** model.py's make_optimizer body and its constants, clip_gradients' and make_scheduler's bodies, for a compiled model or (null) one that was not. */
export function optimizerSlots(optimizer: OptimizerExport | null): Record<'make_optimizer' | 'optimizer_constants' | 'clip_gradients' | 'make_scheduler', string[]> {
  if (!optimizer) {
    return {
      make_optimizer: [`raise ValueError(${pyStr('the webgrad model was not compiled: no optimizer to carry over')})`],
      optimizer_constants: ['OPTIMIZER_STATE = []', 'OPTIMIZER_STEP = 0', 'OPTIMIZER_DIFFERS = None'],
      clip_gradients: ['pass  # the model was not compiled'],
      make_scheduler: ['return None  # the model was not compiled'],
    };
  }
  return {
    make_optimizer: [optimizer.code],
    clip_gradients: optimizer.clip,
    make_scheduler: optimizer.scheduler,
    optimizer_constants: [
      `OPTIMIZER_STATE = ${pyStrList(optimizer.names)}  # torch's names of webgrad's optimizer slots, in order`,
      `OPTIMIZER_STEP = ${pyNum(optimizer.step)}  # the steps webgrad took`,
      `OPTIMIZER_DIFFERS = ${optimizer.differs === null ? 'None' : pyStr(optimizer.differs)}`,
    ],
  };
}

/** Keras' clipping in torch: clip_grad_norm_ over every parameter (global_clipnorm), over each (clipnorm), clip_grad_value_. */
function clipCode(c: { clipnorm?: number; globalClipnorm?: number; clipvalue?: number }): string[] {
  // torch divides by norm + 1e-6 where Keras (and webgrad) divide by max(norm, clip): the same scale to ~1e-6 relative.
  if (c.globalClipnorm !== undefined) return [`torch.nn.utils.clip_grad_norm_(params, ${pyNum(c.globalClipnorm)})  # global_clipnorm`];
  if (c.clipnorm !== undefined) return ['for p in params:', `    torch.nn.utils.clip_grad_norm_([p], ${pyNum(c.clipnorm)})  # clipnorm: each weight by its own norm`];
  if (c.clipvalue !== undefined) return [`torch.nn.utils.clip_grad_value_(params, ${pyNum(c.clipvalue)})  # clipvalue`];
  return ['pass  # webgrad compiled no gradient clipping'];
}

/** The learning rate of webgrad's update numbered `step` (the first is 1) as Python: learningRateAt's formulas (Keras' schedules at step − 1). */
function scheduleCode(lr: LearningRate): string[] {
  if (typeof lr === 'number') return ['return None  # a constant rate: make_optimizer set it'];
  const rate = ['def rate(step):', "    t = step - 1  # Keras' iteration"];
  if (lr.type === 'cosineDecay') {
    const [decay, alpha] = [pyNum(lr.decaySteps), pyNum(lr.alpha ?? 0)];
    const cosine = (s: string, from: string) => `${from} * ((1 - ${alpha}) * 0.5 * (1 + math.cos(math.pi * ${s} / ${decay})) + ${alpha})`;
    if (lr.warmupTarget === undefined) rate.push(`    return ${cosine(`min(t, ${decay})`, pyNum(lr.initialLearningRate))}`);
    else {
      const [init, target, warm] = [pyNum(lr.initialLearningRate), pyNum(lr.warmupTarget), pyNum(lr.warmupSteps ?? 0)];
      rate.push(
        `    t = min(t, ${decay} + ${warm})`,
        `    if t < ${warm}:`,
        `        return (${target} - ${init}) * (t / ${warm}) + ${init}  # linear warmup`,
        `    return ${cosine(`(t - ${warm})`, target)}`,
      );
    }
  } else {
    const p = `t / ${pyNum(lr.decaySteps)}`;
    rate.push(`    return ${pyNum(lr.initialLearningRate)} * ${pyNum(lr.decayRate)} ** ${lr.staircase ? `math.floor(${p})` : `(${p})`}`);
  }
  return [
    ...rate,
    '',
    'for group in optimizer.param_groups:',
    "    group['initial_lr'] = 1.0  # LambdaLR's base rate, which rate() multiplies",
    'return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: rate(OPTIMIZER_STEP + k + 1))',
  ];
}

/**
 * With weight decay and excludeFromWeightDecay: a param group per parameter
 * (so that torch's state indices stay the parameters' order, as load_optimizer
 * reads them), weight_decay 0 for the excluded. Null without exclusions.
 */
function decayGroups(spec: unknown, mapped: readonly Mapped[], wd: number): string[] | null {
  const opt = makeOptimizer(spec as never);
  if (!wd || !opt.config.excludeFromWeightDecay?.length) return null;
  const decays = mapped.filter((m) => m.trainable).map((m) => (opt.decays(m.name) ? pyNum(wd) : '0.0'));
  return [
    `decays = [${decays.join(', ')}]  # per parameter: excludeFromWeightDecay ${pyStrList(opt.config.excludeFromWeightDecay)} gives 0`,
    'if len(decays) != len(params):',
    `    raise ValueError(f'make_optimizer: {len(params)} trainable parameters, but webgrad trained ${decays.length}')`,
    "params = [{'params': [p], 'weight_decay': d} for p, d in zip(params, decays)]",
  ];
}

/**
 * The optimizer in torch's terms. SGD, momentum (PyTorch's form, which
 * webgrad's is), Adam and AdamW with epsilonHat false, and L2 or decoupled
 * weight decay as torch applies them, continue exactly; Keras' ε̂ placement
 * (adam's default here) and RMSprop's ε inside the root do not exist in
 * torch, so the state is carried and torch's rule is used, said in `differs`.
 * A schedule goes to make_scheduler (a LambdaLR from the next step on), the
 * clipping to clip_gradients, the weights excluded from weight decay to param
 * groups with weight_decay 0.
 */
export function optimizerExport(spec: unknown, mapped: readonly Mapped[], state: { slots: Float32Array[][]; step: number } | null): OptimizerExport {
  const c = checkOptimizer(spec);
  const step = state?.step ?? 0;
  const lr = learningRateAt(c.learningRate, step + 1);
  const wd = c.weightDecay ?? 0;
  const mu = c.momentum ?? 0;
  let code: string;
  let names: string[];
  let differs: string | null = null;
  switch (c.type) {
    case 'sgd':
    case 'momentum':
      code = `torch.optim.SGD(params, lr=${pyNum(lr)}, momentum=${pyNum(mu)}, nesterov=${pyBool(c.nesterov)}, weight_decay=${pyNum(wd)})`;
      names = mu > 0 ? ['momentum_buffer'] : [];
      break;
    case 'rmsprop':
      code = `torch.optim.RMSprop(params, lr=${pyNum(lr)}, alpha=${pyNum(c.rho)}, eps=${pyNum(c.epsilon)}, weight_decay=${pyNum(wd)}, momentum=${pyNum(mu)}, centered=${pyBool(c.centered)})`;
      names = ['square_avg', ...(mu > 0 ? ['momentum_buffer'] : []), ...(c.centered ? ['grad_avg'] : [])];
      differs = "webgrad's RMSprop (Keras') divides by √(s + ε); torch's by √s + ε";
      break;
    case 'adam':
    case 'adamw':
      code = `torch.optim.${c.type === 'adam' ? 'Adam' : 'AdamW'}(params, lr=${pyNum(lr)}, betas=(${pyNum(c.beta1)}, ${pyNum(c.beta2)}), eps=${pyNum(c.epsilon)}, weight_decay=${pyNum(wd)})`;
      names = ['exp_avg', 'exp_avg_sq'];
      if (c.epsilonHat) differs = "webgrad's Adam was compiled with epsilonHat (Keras' ε̂, added to √v); torch adds ε to √v̂";
      break;
  }
  const groups = decayGroups(spec, mapped, wd);
  let file: Uint8Array | null = null;
  if (state && step > 0) {
    const trained = mapped.filter((m) => m.trainable);
    const tensors: Record<string, SafetensorsTensor> = {};
    trained.forEach((m, i) =>
      names.forEach((n, k) => {
        const t = toTorch(m.conversion, m.shape, state.slots[i][k]);
        tensors[`state.${i}.${n}`] = { dtype: 'F32', shape: t.shape, data: t.data };
      }),
    );
    file = encodeSafetensors(tensors, { format: 'pytorch-optimizer-state', step: String(step) });
  }
  const lines = [...(groups ?? []), `return ${code}`];
  return { code: lines.join('\n'), clip: clipCode(c), scheduler: scheduleCode(c.learningRate), file, names, step, differs };
}
