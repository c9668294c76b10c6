// `webgrad sweep`: every combination of several values of train's flags, ranked on validation data.
import { writeFileSync } from 'node:fs';
import type { Backend } from '../backend/backend.js';
import { describeSamples } from '../data/dataset.js';
import type { RunResult } from '../experiments/run.js';
import { curvesChart, formatRefit, formatRun, formatTable } from '../experiments/report.js';
import type { SweepResult } from '../experiments/sweep.js';
import { sweep } from '../experiments/sweep.js';
import { renderChart } from '../plot/index.js';
import { parseArgs } from './args.js';
import type { LoadedData } from './data.js';
import { loadData } from './data.js';
import { checkOutputPath } from './output.js';
import { writePng } from './png.js';
import { describeDevice } from './selfcheck.js';
import type { SweepCliOptions } from './sweep-options.js';
import { MAX_RUNS_WITHOUT_YES, SWEEP_BOOLEANS, SWEEP_FLAGS, sweepOptions } from './sweep-options.js';
import type { TrainOptions } from './train-options.js';
import { buildModel, cliBackend } from './train.js';

/**
 * Ctrl-C once: stop after the current run and report what finished. Ctrl-C
 * again: the default action (the process ends at once). Returns the signal
 * and the function that removes the handler.
 */
function stopOnSigint(): { signal: AbortSignal; release: () => void } {
  const stop = new AbortController();
  const onSigint = () => {
    if (stop.signal.aborted) {
      process.off('SIGINT', onSigint);
      process.kill(process.pid, 'SIGINT');
      return;
    }
    console.error('\nwebgrad sweep: stopping after the current run (Ctrl-C again to quit now)');
    stop.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: stop.signal, release: () => process.off('SIGINT', onSigint) };
}

/** What --json writes: the device, every run's history and scores, the ranking and the refit. */
function jsonReport(r: SweepResult<TrainOptions>, backend: Backend) {
  // Epochs in `diverged` count from 1, as the printed lines do.
  const run = (x: RunResult<TrainOptions>) => ({
    name: x.name, params: x.params, fold: x.fold, epochs: x.epochs, history: x.history.history,
    validation: x.validation, train: x.train, seconds: x.seconds, samples_per_second: x.samplesPerSecond,
    diverged: x.diverged && { epoch: x.diverged.epoch + 1, batch: x.diverged.batch === null ? null : x.diverged.batch + 1, loss: x.diverged.loss, rule: x.diverged.rule, reason: x.diverged.reason },
  });
  return {
    backend: backend.kind, adapter: describeDevice(backend.describe()), task: r.task, metric: r.metric, validation: r.validation,
    planned: r.planned, stopped: r.stopped, runs: r.runs.map(run),
    summary: r.summary.map((s, i) => ({
      rank: i + 1, name: s.name, params: s.params, runs: s.runs, val_loss: s.valLoss, [`val_${r.metric}`]: s.valMetric,
      train_loss: s.trainLoss, [`train_${r.metric}`]: s.trainMetric, seconds: s.seconds, samples_per_second: s.samplesPerSecond,
      diverged: s.diverged && { runs: s.diverged.runs, epoch: s.diverged.epoch + 1 },
    })),
    refit: r.refit && { name: r.refit.name, params: r.refit.params, epochs: r.refit.epochs, train_samples: r.refit.trainSamples, test: r.refit.test, seconds: r.refit.seconds },
  };
}

function header(s: SweepCliOptions, data: LoadedData): string {
  const k = s.folds ?? 1;
  const runs = s.candidates.length * k;
  const scheme = s.folds ? `${s.folds}-fold cross-validation${data.task === 'classification' ? ' (stratified)' : ''}` : `validation on the last ${Math.round(s.validationSplit! * 100)}%`;
  const fixed = Object.entries(s.fixed).map(([k2, v]) => `${k2}=${v}`).join(' ');
  return `sweep: ${s.candidates.length} setting${s.candidates.length === 1 ? '' : 's'}${s.folds ? ` × ${k} folds` : ''} = ${runs} run${runs === 1 ? '' : 's'}, ${scheme}; fixed: ${fixed || 'nothing'}`;
}

function tooMany(r: SweepResult<TrainOptions>, backend: Backend): string {
  const one = r.runs[0].seconds;
  const total = one * r.planned;
  const estimate = total < 120 ? `${Math.round(total)} s` : `${(total / 60).toFixed(1)} min`;
  return `webgrad sweep: this sweep would train ${r.planned} runs, more than ${MAX_RUNS_WITHOUT_YES} without --yes. `
    + `One run took ${one.toFixed(1)} s on ${backend.kind} (${describeDevice(backend.describe())}), so all of them would take about ${estimate}, plus the refit. `
    + 'Add --yes to run them, or list fewer values.';
}

/** `webgrad sweep`: trains every combination (on every fold), prints a table best first, refits the best. */
export async function sweepCommand(argv: string[]): Promise<number> {
  const s = sweepOptions(parseArgs(argv, SWEEP_FLAGS, SWEEP_BOOLEANS));
  checkOutputPath('save', s.save);
  checkOutputPath('plot', s.plot);
  checkOutputPath('json', s.json);
  const o = s.base;
  const say = (line: string) => console.log(line);
  const data = loadData({ data: o.data, testData: o.testData, labelColumn: o.labelColumn, task: o.task, seed: o.seed, toy: o.toy, context: o.context });
  for (const n of data.notices) console.error(`webgrad sweep: ${n}`);
  const backend = await cliBackend(o.backend, (line) => console.error(line));
  const { signal, release } = stopOnSigint();
  try {
    say(`data: ${data.source}: ${data.train.xShape[0]} training and ${data.test.xShape[0]} test samples, ${describeSamples(data.train.xShape)}, ${data.task}`);
    say(`backend: ${backend.kind} — ${describeDevice(backend.describe())}`);
    say(header(s, data));
    const limit = s.candidates.length * (s.folds ?? 1) > MAX_RUNS_WITHOUT_YES && !s.yes ? 1 : undefined;
    const result = await sweep<TrainOptions>({
      train: data.train, test: data.test, candidates: s.candidates, // train's own recipe, sized by the part actually trained on (the fold's training part, nothing held out of it).
      model: (settings, be, train) => buildModel({ ...settings, validationSplit: 0 }, { ...data, train }, be),
      folds: s.folds, validationSplit: s.validationSplit, standardize: o.standardize, earlyStopping: o.earlyStopping, seed: o.seed,
      backend, signal, limit, refit: limit === undefined,
      onRun: (run, done, planned) => say(formatRun(run, done, planned, s.folds ?? 1, data.task === 'classification' ? 'accuracy' : 'mae')),
      onRefit: s.save ? (model) => model.save(s.save!) : undefined,
    });
    if (result.stopped === 'limit') {
      console.error(tooMany(result, backend));
      return 1;
    }
    const by = result.task === 'classification' ? 'validation accuracy' : 'validation loss';
    say(`\n${result.stopped ? `stopped after ${result.runs.length} of ${result.planned} runs; ` : ''}results (${result.validation}), best ${by} first:`);
    say(formatTable(result));
    const allDiverged = result.summary.length > 0 && result.summary.every((x) => x.diverged);
    say(formatRefit(result) ?? (result.stopped ? 'refit skipped: the sweep was stopped' : allDiverged ? 'refit skipped: every setting diverged' : 'no refit'));
    if (s.save && result.refit) say(`saved the refitted model to ${s.save}`);
    if (s.plot && result.runs.length > 0) {
      writePng(s.plot, renderChart(curvesChart(result)));
      say(`wrote learning curves to ${s.plot}`);
    }
    if (s.json) {
      writeFileSync(s.json, JSON.stringify(jsonReport(result, backend), null, 1) + '\n');
      say(`wrote every run's history to ${s.json}`);
    }
    if (allDiverged && !result.stopped) {
      console.error(`webgrad sweep: every setting diverged (a loss that turned NaN or grew past 10× its first batch's); nothing was refitted${s.save ? ' or saved' : ''}. Try lower learning rates (--lr), --standardize, or another --optimizer.`);
      return 1;
    }
    return result.stopped ? 130 : 0;
  } finally {
    release();
    backend.dispose();
  }
}
