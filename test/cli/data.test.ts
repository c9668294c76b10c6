import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadData } from '../../src/cli/data.js';
import { ValueError } from '../../src/core/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'webgrad-cli-data-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
function file(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

/** A CSV with features a, b and label `kind`; `labels` gives each row's label. */
const csv = (name: string, labels: (string | number)[]) => file(name, `a,b,kind\n${labels.map((l, i) => `${i},${i % 7},${l}`).join('\n')}\n`);
const ten = (...classes: (string | number)[]) => Array.from({ length: 10 * classes.length }, (_, i) => classes[i % classes.length]);

describe('loadData: notices', () => {
  it('warns that a classification training set holds only one class', () => {
    const p = csv('one.csv', ten('cat'));
    const d = loadData({ data: p, seed: 1 });
    expect(d.task).toBe('classification');
    expect(d.notices).toEqual([
      `${p}: the training data holds only one class ('cat', all 10 rows); a classifier trained on it learns nothing and predicts that class for everything`,
    ]);
    expect(loadData({ data: csv('two.csv', ten('cat', 'dog')), seed: 1 }).notices).toEqual([]);
  });

  it('passes on what was assumed when inferring the task', () => {
    const labels: (string | number)[] = ten(0, 1, 2);
    labels[4] = 2.5;
    const p = csv('typo.csv', labels);
    const d = loadData({ data: p, seed: 1 });
    expect(d.task).toBe('regression');
    expect(d.notices).toHaveLength(1);
    expect(d.notices[0]).toMatch(new RegExp(`^${p}: column 'kind' is taken as a regression target because of the fractional value '2.5' on line 6; .*--task classification`));
  });
});

describe('loadData: --test-data classes', () => {
  it('refuses a test label the training data never saw, naming file, line, label and the known classes', () => {
    const train = csv('train-names.csv', ten('ant', 'cat', 'dog'));
    const test = csv('test-names.csv', ['cat', 'dog', 'emu']);
    expect(() => loadData({ data: train, testData: test, seed: 1 })).toThrow(
      new ValueError(`${test}: line 4, column 'kind': label 'emu' is not one of the classes 'ant', 'cat', 'dog' of the training data ${train}`),
    );
    const ok = loadData({ data: train, testData: csv('test-ok.csv', ['dog', 'dog']), seed: 1 });
    expect([Array.from(ok.test.y), ok.test.classes, ok.test.classNames]).toEqual([[2, 2], 3, ['ant', 'cat', 'dog']]);
  });

  it('refuses an integer class the training data lacks, even inside 0..max, and sizes the test classes as training', () => {
    const train = csv('train-int.csv', ten(0, 1, 3));
    const test = csv('test-int.csv', [0, 2]);
    expect(() => loadData({ data: train, testData: test, seed: 1 })).toThrow(
      new ValueError(`${test}: line 3, column 'kind': label '2' is not one of the classes '0', '1', '3' of the training data ${train}`),
    );
    const ok = loadData({ data: train, testData: csv('test-int-ok.csv', [1, 1]), seed: 1 });
    expect([Array.from(ok.test.y), ok.test.classes, ok.train.classes]).toEqual([[1, 1], 4, 4]);
  });
});

describe('loadData: classNames (a saved model\'s classes)', () => {
  const model = ['ant', 'bee', 'cat'];
  it('maps labels onto exactly these names and indices, even when a file lacks a class', () => {
    const d = loadData({ data: csv('no-ant.csv', ten('cat', 'bee')), testData: csv('no-ant-test.csv', ['cat']), seed: 1, classNames: model });
    expect([d.train.classes, d.train.classNames, d.test.classNames]).toEqual([3, model, model]);
    expect(new Set(d.train.y)).toEqual(new Set([1, 2]));
    expect(Array.from(d.test.y)).toEqual([2]);
    expect(d.notices).toEqual([]);
    const split = loadData({ data: csv('only-cat.csv', ten('cat')), seed: 1, classNames: model });
    expect([Array.from(split.test.y), split.test.classes]).toEqual([[2, 2], 3]);
  });

  it('refuses a label the model does not know, in the data or the test file', () => {
    const p = csv('with-dog.csv', ['cat', 'dog']);
    expect(() => loadData({ data: p, seed: 1, classNames: model })).toThrow(
      new ValueError(`${p}: line 3, column 'kind': label 'dog' is not one of the classes 'ant', 'bee', 'cat' of the model`),
    );
    const t = csv('test-cta.csv', ['cta']);
    expect(() => loadData({ data: csv('fine.csv', ten('ant')), testData: t, seed: 1, classNames: model })).toThrow(
      `${t}: line 2, column 'kind': label 'cta' is not one of the classes 'ant', 'bee', 'cat' of the model (did you mean 'cat'?)`,
    );
  });

  it('refuses a class list that is not 10 long for digit data (labelled 0..9)', () => {
    expect(() => loadData({ seed: 1, classNames: model })).toThrow(
      "the model has 3 classes ('ant', 'bee', 'cat') but the built-in MNIST digits are labelled 0..9: 10 classes",
    );
    const dir = join(tmp, 'idx');
    mkdirSync(dir);
    expect(() => loadData({ data: dir, seed: 1, classNames: model })).toThrow(`but the IDX files in ${dir} are labelled 0..9`);
  });
});

describe('loadData: seed', () => {
  it('decides the 80/20 split of a CSV without --test-data', () => {
    const p = csv('split.csv', ten(0, 1));
    const rows = (seed: number) => Array.from(loadData({ data: p, seed }).test.x.filter((_, i) => i % 2 === 0));
    expect(rows(1)).toEqual(rows(1));
    expect(rows(1)).not.toEqual(rows(2));
    const d = loadData({ data: p, seed: 3 });
    expect([d.train.xShape[0], d.test.xShape[0], d.source]).toEqual([16, 4, `${p} (80/20 split, seed 3)`]);
  });
});
