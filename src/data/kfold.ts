// k-fold cross-validation index sets, optionally stratified. Browser-safe.
import { ValueError, WebgradError } from '../core/errors.js';
import { Random } from '../core/random.js';
import type { SplitOptions } from './split.js';
import { DEFAULT_SPLIT_SEED, indicesByClass } from './split.js';

export interface Fold {
  train: Int32Array;
  validation: Int32Array;
}

/**
 * k {train, validation} index sets (each sorted ascending). The validation
 * sets are disjoint, together hold every sample once, and their sizes differ
 * by at most one. Given labels, folds are stratified unless stratify is
 * false: a fold of size m holds, of a class with c samples, the floor or the
 * ceiling of c·m/n, so its class proportions are within one sample of the
 * global ones.
 */
export function kFold(nOrLabels: number | ArrayLike<number>, k: number, options: SplitOptions = {}): Fold[] {
  const labels = typeof nOrLabels === 'number' ? null : nOrLabels;
  const n = labels ? labels.length : (nOrLabels as number);
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`kFold: need a positive number of samples, got ${n}`);
  if (!Number.isInteger(k) || k < 2) throw new ValueError(`kFold: k must be an integer of at least 2, got ${k}`);
  if (k > n) throw new ValueError(`kFold: k = ${k} folds but only ${n} samples; every fold needs at least one`);
  const stratify = options.stratify ?? labels !== null;
  if (stratify && !labels) throw new ValueError('kFold: stratify needs the class labels, not a sample count');
  const rng = new Random(options.seed ?? DEFAULT_SPLIT_SEED);
  const sizes = Array.from({ length: k }, (_, f) => Math.floor(n / k) + (f < n % k ? 1 : 0));

  const foldOf = new Int32Array(n);
  if (stratify) {
    const byClass = indicesByClass(labels!, 'kFold');
    const present = byClass.map((ix, c) => ({ ix, c })).filter((e) => e.ix);
    for (const { ix, c } of present) {
      if (ix.length < k) throw new ValueError(`kFold: class ${c} has only ${ix.length} sample${ix.length === 1 ? '' : 's'}, fewer than k = ${k} folds; lower k or drop stratify`);
    }
    const counts = stratifiedCounts(present.map((e) => e.ix.length), sizes);
    present.forEach(({ ix }, row) => {
      rng.shuffle(ix);
      let at = 0;
      counts[row].forEach((m, f) => {
        for (let j = 0; j < m; j++) foldOf[ix[at++]] = f;
      });
    });
  } else {
    const p = rng.permutation(n);
    let at = 0;
    sizes.forEach((m, f) => {
      for (let j = 0; j < m; j++) foldOf[p[at++]] = f;
    });
  }

  return sizes.map((m, f) => {
    const validation = new Int32Array(m);
    const train = new Int32Array(n - m);
    let v = 0;
    let t = 0;
    for (let i = 0; i < n; i++) {
      if (foldOf[i] === f) validation[v++] = i;
      else train[t++] = i;
    }
    return { train, validation };
  });
}

/**
 * An integer matrix a[c][f], each entry the floor or ceiling of
 * classSizes[c]·foldSizes[f]/n, whose rows sum to classSizes and columns to
 * foldSizes. Such a rounding always exists (matrix rounding with integer
 * margins); it is found by starting from the floors and adding the missing
 * ones along augmenting paths, as in bipartite matching.
 */
export function stratifiedCounts(classSizes: number[], foldSizes: number[]): number[][] {
  const n = classSizes.reduce((a, b) => a + b, 0);
  const a = classSizes.map((c) => foldSizes.map((m) => Math.floor((c * m) / n)));
  const canRound = classSizes.map((c) => foldSizes.map((m) => (c * m) % n !== 0));
  const up = classSizes.map(() => foldSizes.map(() => false));
  const foldNeed = foldSizes.map((m, f) => m - a.reduce((s, row) => s + row[f], 0));
  classSizes.forEach((c, row) => {
    let need = c - a[row].reduce((s, v) => s + v, 0);
    // Greedy first, neediest folds first (cheap, and usually enough); augmenting paths repair the rest.
    const order = foldSizes.map((_, f) => f).sort((p, q) => foldNeed[q] - foldNeed[p]);
    for (const f of order) {
      if (need > 0 && canRound[row][f] && foldNeed[f] > 0) {
        up[row][f] = true;
        foldNeed[f]--;
        need--;
      }
    }
    for (; need > 0; need--) {
      if (!augment(row, canRound, up, foldNeed)) throw new WebgradError(`kFold: internal error, no rounding for class sizes [${classSizes}] and folds [${foldSizes}]`);
    }
  });
  return a.map((r, c) => r.map((v, f) => v + (up[c][f] ? 1 : 0)));
}

/**
 * Gives class `start` one more rounded-up fold: a breadth-first search over
 * class → fold (round up) and fold → class (that class rounds up elsewhere
 * instead) ends at a fold still short of its size, then flips the path.
 */
function augment(start: number, canRound: boolean[][], up: boolean[][], foldNeed: number[]): boolean {
  const k = foldNeed.length;
  const cameFrom = new Array<number>(k).fill(-1); // class that reached each fold
  const reachedBy = new Map<number, number>([[start, -1]]); // class → fold it would give up
  const queue = [start];
  for (let q = 0; q < queue.length; q++) {
    const c = queue[q];
    for (let f = 0; f < k; f++) {
      if (!canRound[c][f] || up[c][f] || cameFrom[f] >= 0) continue;
      cameFrom[f] = c;
      if (foldNeed[f] > 0) {
        foldNeed[f]--;
        // Walk back: each class on the path rounds up at f and gives up the fold it came through.
        for (let fold = f, cls = c; cls >= 0; ) {
          up[cls][fold] = true;
          const prev = reachedBy.get(cls)!;
          if (prev >= 0) up[cls][prev] = false;
          fold = prev;
          cls = prev >= 0 ? cameFrom[prev] : -1;
        }
        return true;
      }
      for (let other = 0; other < up.length; other++) {
        if (up[other][f] && !reachedBy.has(other)) {
          reachedBy.set(other, f);
          queue.push(other);
        }
      }
    }
  }
  return false;
}
