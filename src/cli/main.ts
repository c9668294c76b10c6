import { WebgradError } from '../core/errors.js';
import { SPEC_HELP } from '../nn/spec.js';
import { ACTIVATIONS } from '../ops/activations.js';
import { exportCommand } from './export.js';
import { GENERATE_HELP, generate } from './generate.js';
import { IMPORT_HELP, importCommand } from './import.js';
import { launch } from './launch.js';
import { selfcheck } from './selfcheck.js';
import { sweepCommand } from './sweep.js';
import { MAX_RUNS_WITHOUT_YES } from './sweep-options.js';
import { train } from './train.js';
import { evaluate, predict } from './use.js';

const USAGE = `webgrad: neural-network training on the GPU through WebGPU

Usage:
  webgrad train [FILE] [flags]            train an MLP (default: 784-128-10 on the built-in MNIST digits, on the GPU)
  webgrad sweep [train flags]             train every combination of several values; a table, best validation score first
  webgrad evaluate MODEL [--data ...] [--seed N]   loss and metrics of a saved model on a data set's test part
                                          (a CSV's 20% test split, drawn with the seed the model trained with unless --seed;
                                          a Playground set with the seed it trained with, and --noise, --points, --test-percent)
  webgrad predict MODEL IMAGE.png...      class probabilities for pictures of digits
  webgrad predict MODEL ROWS.csv          predictions for rows of features (a header naming the model's inputs, e.g. x,y)
${GENERATE_HELP}
  webgrad selfcheck [--backend B]         run every kernel on the device against the CPU reference
  webgrad export MODEL --to pytorch DIR   the model as a PyTorch state_dict (safetensors), model.py (load_model, the loss,
                                          load_optimizer with webgrad's optimizer state, save_webgrad) and train.py, which
                                          continues training under torchrun (DistributedDataParallel) and writes a webgrad file
  webgrad export MODEL --to onnx FILE     the inference graph as ONNX (opset 17), for onnxruntime on the web, Node, Python
  webgrad import TORCH.safetensors --layers SPEC --input-shape S --out MODEL
                                          a PyTorch state_dict (safetensors) as a webgrad model file, for predict and
                                          evaluate: its tensors go into the architecture given, transposed to webgrad's layouts;
                                          --layers gptW:B:H --data FILE.txt: a GPT (nn.MultiheadAttention or nanoGPT's) for generate
  webgrad help                            this text

Every command takes --verbose: show Dawn's (WebGPU's) start-up messages and the adapters tried,
which are hidden otherwise, whatever stderr is: a terminal, a pipe or a file (\`> run.log 2>&1\`).
The environment variable WEBGRAD_VERBOSE=1 does the same.

train flags:
  --data mnist|DIR|FILE.csv   built-in digits (default), a directory of IDX files, or a CSV with a header
  --data circle|xor|gauss|spiral|plane|multigauss
                              TensorFlow Playground's 2-D data sets (x, y), generated from --seed as the Playground
                              generates them (500 points; 1,200 for the regression sets plane and multigauss);
                              a file of such a name is ./circle
  --noise PCT (0)  --points N  --test-percent P (50)
                              the Playground's noise slider (0 to 50), the number of points, the share held out to test;
                              on these sets --batch-size defaults to 10 (the Playground's) and --epochs to 100
  --features x,y,xSquared,ySquared,xTimesY,sinX,sinY
                              the Playground's input features of (x, y), computed by the model's first layer
                              (PointFeatures), so the saved model predicts from x and y (default: x,y as they are)
  --data FILE.txt|FILE.md|webgrad-docs
                              text: a character model (the vocabulary, built from the file, is saved in the model);
                              windows of --context characters (default 64), the next character the label at every
                              step, the last 10% the test split, the loss in nats per character; layers default to
                              embed64,lstm128, --epochs to 20 and Adam's --lr to 0.005. webgrad-docs is the corpus that
                              ships with webgrad: its own README and docs (MIT). Then: webgrad generate MODEL
  --test-data FILE|DIR        test set (default: the IDX t10k files, or 20% of the CSV)
  --label-column NAME         CSV label column (default: the last)
  --task classification|regression   inferred from the labels when absent
  --layers SPEC               hidden layers (default 128; 'none' for a linear model): dense widths and image layers,
                              e.g. 256,128 or conv32:3,maxpool2,conv64:3,maxpool2,flatten,128 (a CNN):
${SPEC_HELP.split('\n').map((l) => `                                ${l}`).join('\n')}
                              gpt or gptW:B:H (text only): a small GPT as nanoGPT builds it, width W (default 128),
                                B pre-norm blocks (4) of H causal attention heads (4); the whole model, given alone
  --activation relu           hidden activation: ${ACTIVATIONS.join(', ')}
  --loss NAME                 default sparseCategoricalCrossentropy, or meanSquaredError for regression
  --optimizer adam|sgd|momentum|rmsprop|adamw   (default adam)
  --lr RATE  --momentum M     learning rate (default 0.002 for adam, else the optimizer's Keras default);
                              momentum for sgd, momentum and rmsprop (an error with adam and adamw)
  --lr-schedule constant|cosine   cosine: decay the rate to 0 over the run (default constant)
  --warmup-steps N            with --lr-schedule cosine: rise linearly from 0 to the rate over N steps first (Keras'
                              CosineDecay warmup_target / warmup_steps), then the cosine to 0 over the rest of the run
  --global-clipnorm N  --clipnorm N  --clipvalue N   clip the gradients before each update (one of the three, as Keras):
                              all together to a norm of N (the usual for transformers), each weight's to N, or each value
  --weight-decay W            L2 penalty added to the gradient (adamw: decoupled decay, default 0.004)
  --exclude-from-weight-decay bias,layer_normalization   weights whose names contain any of these take no weight decay
  --epochs N (10)  --batch-size N (32)  --validation-split F (0: none; Keras takes the last fraction)
  --dropout RATE              dropout after every hidden dense layer (Keras' Dropout; off in evaluate and predict)
  --batch-norm                batch normalization after every hidden dense and conv layer
  --no-bn-recompute           keep the moving averages as they are; by default, when training ends, each batch-norm
                              layer's moving mean and variance are recomputed exactly over the training data
  --l1 F  --l2 F              kernel penalties on every dense and conv layer: F·Σ|w|, F·Σw² (part of the loss)
  --early-stopping PATIENCE   stop when val_loss stops improving, keep the best weights
  --standardize               scale features to zero mean, unit variance (training statistics; the model keeps the scaler)
  --seed N (42)               initial weights, shuffling and splits
  --backend webgpu|cpu        default: WebGPU if an adapter exists, else the CPU (with a notice)
  --save FILE                 write the model (safetensors: topology, weights, optimizer state, class names, scaler);
                              checked before training; never written when the run diverges
                              (its loss turns NaN or grows past 10× the first batch's: training stops, exit 1)
  --plot FILE.png             learning curves: loss and accuracy against epoch
  --json                      end with one line of JSON: the run's figures

sweep flags: train's flags, and
  --lr 0.1,0.01,0.001  --layers 64,30:128,64 (lists with convolutions: separated by '/')  --batch-size 1,16,100  --optimizer sgd,adam
  --momentum 0.5,0.9  --activation relu,tanh  --epochs 5,10  --dropout 0,0.2,0.5  --l1 0,1e-5  --l2 0,1e-4,1e-3
                              several values: every combination is trained (layer lists separated by ':')
  --folds K                   k-fold cross-validation (stratified for classes); else --validation-split (default 0.2)
  --plot FILE.png             learning curves of every setting (mean over folds), training and validation panels
  --json FILE                 every run's history and scores, the ranking and the refit
  --save FILE                 the best settings, refitted on the whole training set
  --yes                       needed above ${MAX_RUNS_WITHOUT_YES} runs (without it one run is timed and the total estimated)
  A run that diverges (as in train) stops and is marked "diverged, epoch N" in the table, the JSON and the plot;
  its setting ranks last. When every setting diverges nothing is refitted or saved, and the exit code is 1.
  Ctrl-C stops after the current run and still prints the table of the runs that finished.

${IMPORT_HELP}
`;

/**
 * What bin/webgrad.js runs: main() in a child process whose stderr is
 * filtered of Dawn's warnings (launch.ts), or here with --verbose.
 */
export function cli(argv: string[]): Promise<void> {
  return launch(argv, main);
}

/** Runs a CLI command; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  // Global: read where the WebGPU device is opened (src/backend/webgpu/device.ts).
  if (argv.includes('--verbose')) process.env.WEBGRAD_VERBOSE = '1';
  const [command = 'help', ...rest] = argv.filter((a) => a !== '--verbose');
  try {
    switch (command) {
      case 'train':
        return await train(rest);
      case 'sweep':
        return await sweepCommand(rest);
      case 'evaluate':
        return await evaluate(rest);
      case 'predict':
        return await predict(rest);
      case 'generate':
        return await generate(rest);
      case 'selfcheck':
        return await selfcheck(rest);
      case 'export':
        return await exportCommand(rest);
      case 'import':
        return await importCommand(rest);
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return 0;
      default:
        process.stderr.write(`webgrad: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof WebgradError) {
      process.stderr.write(`webgrad ${command}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
