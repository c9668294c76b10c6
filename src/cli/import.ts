// `webgrad import TORCH.safetensors --layers SPEC --input-shape S --out MODEL.safetensors`:
// a torch state_dict as a webgrad model file, for predict and evaluate.
import { ValueError } from '../core/errors.js';
import { readModelFile } from '../nn/file.js';
import type { ImportPytorchOptions, PytorchArchitecture } from '../interop/import-pytorch.js';
import { importPytorch } from '../interop/import-pytorch.js';
import type { Model } from '../nn/model.js';
import { loadModel, saveModel } from '../nn/saving.js';
import { safetensorsNames } from '../interop/safetensors.js';
import { gpt } from '../nn/gpt.js';
import { oneOf, parseArgs } from './args.js';
import { BUILTIN_TEXT, loadData } from './data.js';
import { int, parseGpt } from './train-options.js';
import { checkOutputPath } from './output.js';

export const IMPORT_HELP = `import flags:
  --layers SPEC               the torch model's hidden layers, as train's --layers (bn and ln take torch's eps 1e-5);
                              the output dense layer is as wide as the file's last Linear
  --input-shape S             the sample shape webgrad takes: 784, or 28,28,1 for images (NHWC)
  --activation relu           the hidden activation (as train's)
  --output-activation softmax what follows the last Linear: softmax (torch's logits become probabilities), linear, sigmoid
  --layers gptW:B:H           a GPT of width W, B blocks, H heads (src/nn/gpt.ts; gpt: 128:4:4), with --data and --context:
  --data FILE.txt             the text the torch model was trained on: its sorted characters are the vocabulary
                              (webgrad-docs: the built-in corpus), so that generate reads and writes the same ids
  --context N                 the GPT's context, its position table's rows (default 64, as train's)
  --like MODEL.safetensors    instead of --layers: the architecture of a webgrad model file, Sequential or functional
                              (a GPT too): its topology, and what the weights do not hold (its loss and metrics,
                              a character model's vocabulary, class names); never its weights
  --modules a,b,c             the file's modules in the layers' order, where their names do not sort that way
  --flatten-order nchw|nhwc   how torch flattened images before its first Linear: nchw (torch's x.flatten(1); the default)
                              or nhwc (channels-last first; the default for files webgrad exported)
  --out MODEL.safetensors     the webgrad model file to write (required)`;

/** `--input-shape 784` or `28,28,1` (also 28x28x1). */
function inputShape(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const dims = v.split(/[,x×]/).map((d) => Number(d.trim()));
  if (!dims.every((d) => Number.isInteger(d) && d > 0)) throw new ValueError(`--input-shape must be whole numbers > 0 separated by commas, like 784 or 28,28,1; got '${v}'`);
  return dims;
}

/** The loss the saved model is compiled with, so that evaluate can use it: from what follows the last Linear. */
function lossFor(last: string): { loss: string; metrics: string[] } {
  if (last === 'softmax') return { loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] };
  if (last === 'sigmoid') return { loss: 'binaryCrossentropy', metrics: ['accuracy'] };
  return { loss: 'meanSquaredError', metrics: ['mae'] };
}

export async function importCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['layers', 'input-shape', 'activation', 'output-activation', 'like', 'modules', 'flatten-order', 'out', 'data', 'context'], []);
  const f = args.flags;
  const [file, ...extra] = args.positional;
  if (!file || extra.length) throw new ValueError('import takes one torch state_dict file: webgrad import TORCH.safetensors --layers SPEC --input-shape S --out MODEL.safetensors');
  const out = f.get('out');
  if (!out) throw new ValueError('import: say where to write the webgrad model, --out MODEL.safetensors');
  checkOutputPath('out', out);
  if (f.has('like') === f.has('layers')) throw new ValueError('import: give the architecture once: --layers SPEC (with --input-shape), or --like MODEL.safetensors');
  const options: ImportPytorchOptions = {
    source: file,
    inputShape: inputShape(f.get('input-shape')),
    activation: f.get('activation'),
    outputActivation: f.get('output-activation'),
    modules: f.get('modules')?.split(','),
    flattenOrder: f.has('flatten-order') ? oneOf('flatten-order', f.get('flatten-order'), ['nchw', 'nhwc'] as const, 'nchw') : undefined,
  };
  const bytes = await readModelFile(file);
  let architecture: PytorchArchitecture;
  // What a --like model knows that a state_dict does not: how it was compiled, its vocabulary and class names.
  let carried: Pick<Model, 'compileOptions' | 'vocabulary' | 'classNames'> | null = null;
  if (f.has('like')) {
    if (f.has('activation') || f.has('output-activation')) throw new ValueError('import: --activation and --output-activation go with --layers; --like takes the activations of its model');
    const like = await loadModel(f.get('like')!);
    architecture = like.topology();
    carried = { compileOptions: like.compileOptions, vocabulary: like.vocabulary, classNames: like.classNames };
    like.dispose();
  } else if (parseGpt(f.get('layers'))) {
    const given = ['input-shape', 'activation', 'output-activation'].find((k) => f.has(k));
    if (given) throw new ValueError(`import: --${given} does not apply to --layers ${f.get('layers')}: a GPT reads token ids and ends in a softmax over its vocabulary`);
    if (!f.has('data')) throw new ValueError(`import: --layers ${f.get('layers')} needs --data FILE.txt, the text the torch model was trained on: its characters are the vocabulary`);
    // The text as train cuts it (its seed only splits CSV files): the vocabulary, and the context checked against the text's length.
    const text = loadData({ data: f.get('data'), seed: 0, context: f.has('context') ? int('context', f.get('context'), 1) : undefined });
    if (!text.vocabulary) throw new ValueError(`import: --data ${f.get('data')} is not text (a .txt or .md file, or ${BUILTIN_TEXT}); a GPT's vocabulary comes from the text it was trained on`);
    // The biases follow the file's modules (nanoGPT's lm_head has none; with its bias=False the blocks have none either):
    // the output layer has one if the last module of --modules does, the blocks if the first layer norm's (the third) does.
    const names = tensorNames(bytes, file);
    const hasBias = (module: string | undefined) => module === undefined || names === null || names.includes(`${module}.bias`);
    const order = options.modules;
    architecture = gpt({ vocabularySize: text.vocabulary.length, contextLength: text.train.xShape[1], ...parseGpt(f.get('layers'))!, useBias: hasBias(order?.[2]), headBias: hasBias(order?.at(-1)) }).topology();
    carried = { compileOptions: { loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] }, vocabulary: text.vocabulary, classNames: null };
  } else {
    for (const k of ['data', 'context']) if (f.has(k)) throw new ValueError(`import: --${k} goes with --layers gptW:B:H (a GPT's vocabulary and context); --layers ${f.get('layers') ?? ''} --input-shape S takes none`);
    if (!options.inputShape) throw new ValueError('import: --layers needs --input-shape, the sample shape (784, or 28,28,1 for images)');
    architecture = f.get('layers')!;
  }
  const model = importPytorch(bytes, architecture, options);
  try {
    const compiled = carried?.compileOptions;
    model.compile(compiled ? { optimizer: compiled.optimizer ?? 'adam', loss: compiled.loss, metrics: compiled.metrics, lossWeights: compiled.lossWeights } : { optimizer: 'adam', ...lossFor(model.outputLayer.activation) });
    if (carried?.vocabulary) model.setVocabulary(carried.vocabulary);
    if (carried?.classNames) model.setClassNames(carried.classNames);
    model.summary((line) => console.log(line));
    await saveModel(model, out);
    const shape = `[n, ${model.inputShape!.join(', ')}]`;
    console.log(model.vocabulary ? `wrote ${out}: webgrad generate, predict and evaluate take it (token ids, ${shape})` : `wrote ${out}: webgrad predict and evaluate take it (images as NHWC, ${shape})`);
    return 0;
  } finally {
    model.dispose();
  }
}

/** The names of a safetensors file's tensors, from its header, or null when it does not read (importPytorch then says why, naming the file). */
function tensorNames(bytes: Uint8Array, source: string): string[] | null {
  try {
    return safetensorsNames(bytes, source);
  } catch {
    return null;
  }
}
