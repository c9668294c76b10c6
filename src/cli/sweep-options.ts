// `webgrad sweep` flags: train's flags, several of which may list values.
import { ValueError } from '../core/errors.js';
import type { Candidate } from '../experiments/sweep.js';
import { grid, settingName } from '../experiments/grid.js';
import type { Args } from './args.js';
import type { TrainOptions } from './train-options.js';
import { TRAIN_BOOLEANS, TRAIN_FLAGS, trainOptions } from './train-options.js';

/** The flags that may take several values; --layers lists are separated by ':' (or '/') since one list is already '64,30'. */
export const MULTI_FLAGS = ['lr', 'layers', 'batch-size', 'optimizer', 'momentum', 'activation', 'epochs', 'dropout', 'l1', 'l2'] as const;
/** In sweep, --json names a file rather than switching on a line of JSON. */
export const SWEEP_FLAGS = [...TRAIN_FLAGS, 'folds', 'json'] as const;
export const SWEEP_BOOLEANS = [...TRAIN_BOOLEANS.filter((b) => b !== 'json'), 'yes'] as const;
/** A sweep of more runs than this needs --yes: without it, one run is timed and the total estimated. */
export const MAX_RUNS_WITHOUT_YES = 24;

export interface SweepCliOptions {
  /** The settings of each combination, checked by train's own option rules. */
  candidates: Candidate<TrainOptions>[];
  /** Options every combination shares (data, seed, backend, ...): the first combination's. */
  base: TrainOptions;
  /** Settings that are the same in every combination, for the report: `optimizer=adam epochs=10`. */
  fixed: Record<string, string>;
  folds?: number;
  validationSplit?: number;
  json?: string;
  plot?: string;
  save?: string;
  yes: boolean;
}

/**
 * Several values of a flag. Layer lists are separated by ':' (`64,30:128,64`),
 * or by '/' when they hold convolutions, whose tokens use ':' themselves
 * (`conv16:3,maxpool2,64/conv32:3,maxpool2,64`).
 */
function splitValues(flag: string, value: string): string[] {
  // Tokens that hold ':' themselves: convolutions, and penalties (128:l2=1e-4).
  const colons = /conv|:l[12]=/.test(value);
  if (flag === 'layers' && colons && !value.includes('/') && value.replace(/conv\d+:\d+(:s\d+|:same|:valid)*/g, '').replace(/:l[12]=[^:,/]+/g, '').includes(':')) {
    throw new ValueError(`--layers ${value}: separate layer lists with '/' when they hold convolutions or penalties (their tokens use ':'), e.g. conv16:3,maxpool2,64/conv32:3,maxpool2,64`);
  }
  const values = value.split(flag !== 'layers' ? ',' : value.includes('/') || colons ? '/' : ':');
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) throw new ValueError(`--${flag} lists '${v}' twice`);
    seen.add(v);
  }
  return values;
}

/** How a resolved setting reads in the report, as the flag would be written. */
function shown(o: TrainOptions, flag: (typeof MULTI_FLAGS)[number]): string {
  const v = { lr: o.lr, layers: o.layers, 'batch-size': o.batchSize, optimizer: o.optimizer, momentum: o.momentum, activation: o.activation, epochs: o.epochs, dropout: o.dropout, l1: o.l1, l2: o.l2 }[flag];
  if (Array.isArray(v)) return v.length ? v.join(',') : 'none';
  return v === undefined ? 'default' : String(v);
}

/**
 * Expands the flags into one set of train options per combination. Each goes
 * through trainOptions, so a bad value is refused with train's own message
 * (`--lr must be a positive number; got '-1'`) before anything loads or trains.
 */
export function sweepOptions(args: Args): SweepCliOptions {
  const f = args.flags;
  if (args.positional.length > 0) throw new ValueError(`sweep takes flags only; got '${args.positional[0]}' (see webgrad help)`);
  const lists: Record<string, string[]> = {};
  for (const [flag, value] of f) if ((MULTI_FLAGS as readonly string[]).includes(flag)) lists[flag] = splitValues(flag, value);
  const varied = Object.keys(lists).filter((k) => lists[k].length > 1);
  const candidates = grid(lists).map((combo) => {
    const flags = new Map(f);
    for (const [k, v] of Object.entries(combo)) flags.set(k, v);
    const settings = trainOptions({ flags, positional: [] });
    const params = Object.fromEntries(varied.map((k) => [k, shown(settings, k as (typeof MULTI_FLAGS)[number])]));
    return { name: settingName(params), params, settings };
  });
  const fixed: Record<string, string> = {};
  for (const flag of MULTI_FLAGS) {
    const values = new Set(candidates.map((c) => shown(c.settings, flag)));
    // Leave out what does not apply: momentum nobody set, the activation of a model without hidden layers.
    const unused =
      (flag === 'momentum' && values.has('default')) ||
      (flag === 'activation' && candidates.every((c) => c.settings.layers.length === 0)) ||
      ((flag === 'dropout' || flag === 'l1' || flag === 'l2') && values.size === 1 && values.has('0'));
    if (!varied.includes(flag) && values.size === 1 && !unused) fixed[flag] = [...values][0];
  }
  const folds = f.has('folds') ? Number(f.get('folds')) : undefined;
  if (folds !== undefined && !(Number.isInteger(folds) && folds >= 2)) throw new ValueError(`--folds must be a whole number >= 2; got '${f.get('folds')}'`);
  if (folds !== undefined && f.has('validation-split')) throw new ValueError('--folds and --validation-split are alternatives: k-fold cross-validation, or one held-out part');
  const base = candidates[0].settings;
  if (f.has('validation-split') && base.validationSplit === 0) throw new ValueError('--validation-split must be above 0 for a sweep (settings are ranked on validation data), or use --folds K');
  return {
    candidates,
    base,
    fixed,
    folds,
    validationSplit: folds === undefined ? (f.has('validation-split') ? base.validationSplit : 0.2) : undefined,
    json: f.get('json'),
    plot: f.get('plot'),
    save: f.get('save'),
    yes: f.get('yes') === 'true',
  };
}
