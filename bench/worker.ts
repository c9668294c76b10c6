// Runs one bench job in its own process, so that a crash or hang of one
// system (Dawn on llvmpipe can crash, WEBGPU-SETUP.md) is caught by the
// runner's timeout and named, and systems never share a process.
// Usage: node worker.js '<job json>'; the last line printed is RESULT_TAG + JSON.
import { loadBuiltinMnist } from '../src/data/mnist.js';
import type { Job, JobResult, MatmulFigure, TrainFigure } from './lib/jobs.js';
import { RESULT_TAG } from './lib/jobs.js';
import { runKernelLab } from './kernels/lab.js';
import { runConvLab, w4ConvCases } from './kernels/conv-lab.js';
import { ATTENTION_LAB_CASES, runAttentionLab } from './kernels/attention-lab.js';
import { matmulRunner, openSystem } from './systems/open.js';
import { timeMatmul } from './lib/matmul-timing.js';
import { timeTraining, trainFigure } from './systems/trainer.js';
import type { Digits, TrainWorkload } from './workloads.js';
import { playgroundPoints, shuffledDigits } from './workloads.js';
import type { CorpusWindows } from './gpt-workload.js';
import { corpusWindows, withVocabulary } from './gpt-workload.js';
import { benchCorpus } from './lib/corpus.js';

let digits: Digits | null = null;
let corpus: CorpusWindows | null = null;

/**
 * The workload as trained, with its samples: W5's Playground points, W7's
 * corpus windows (its vocabulary filled in from them), or the digits (each
 * loaded once, only if a workload needs it).
 */
function prepare(w: TrainWorkload): [TrainWorkload, Digits] {
  if (w.gpt) {
    corpus ??= corpusWindows(benchCorpus(), w.gpt.context);
    return [withVocabulary(w, corpus.vocabulary), corpus.data];
  }
  return [w, dataFor(w)];
}

function dataFor(w: TrainWorkload): Digits {
  if (w.playground) return playgroundPoints();
  if (!digits) {
    const { train } = loadBuiltinMnist();
    digits = shuffledDigits(train.x, train.y as Int32Array);
  }
  return digits;
}

async function runJob(job: Job): Promise<JobResult> {
  if (job.kind === 'lab') return runKernelLab(job.shapes, job.budgetSeconds, job.maxRuns, job.quick);
  if (job.kind === 'conv-lab') return runConvLab(w4ConvCases(), job.budgetSeconds, job.maxRuns);
  if (job.kind === 'attention-lab') return runAttentionLab(ATTENTION_LAB_CASES, job.budgetSeconds, job.maxRuns);
  const sys = await openSystem(job.system);
  try {
    if (job.kind === 'matmul') {
      const matmul: MatmulFigure[] = [];
      for (const shape of job.shapes) {
        const gflops = await timeMatmul(shape, matmulRunner(sys, shape), job.budgetSeconds / job.shapes.length, job.maxRuns);
        matmul.push({ system: job.system, shape, gflops });
      }
      return { device: sys.device(), adapter: sys.adapter(), matmul };
    }
    const train: TrainFigure[] = [];
    for (const planned of job.workloads) {
      const [w, data] = prepare(planned);
      const trainer = sys.trainer(w);
      try {
        const t = await timeTraining(trainer, w, data, { seconds: job.budgetSeconds / job.workloads.length, maxRuns: job.maxRuns });
        train.push(trainFigure(job.system, w, t));
      } finally {
        await trainer.dispose();
      }
    }
    return { device: sys.device(), adapter: sys.adapter(), train };
  } finally {
    await sys.dispose();
  }
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
runJob(job).then(
  (result) => {
    console.log(RESULT_TAG + JSON.stringify(result));
    // Dawn's threads can keep the process alive; the result is out, so leave.
    process.exit(0);
  },
  (e: unknown) => {
    console.error(`bench worker (${job.kind} ${'system' in job ? job.system : ''}) failed: ${(e as Error)?.stack ?? e}`);
    process.exit(1);
  },
);
