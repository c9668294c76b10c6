import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ValueError } from '../../src/core/errors.js';
import { MAX_INFERRED_CLASSES, parseCsv } from '../../src/data/csv-dataset.js';
import { parseCsvRecords } from '../../src/data/csv-format.js';
import { readCsv } from '../../src/data/csv.js';
import { validateDataset } from '../../src/data/dataset.js';

const tmp = mkdtempSync(join(tmpdir(), 'webgrad-csv-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
function file(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

describe('parseCsvRecords', () => {
  it('handles quotes, escaped quotes, commas and newlines inside quotes, CRLF and blank lines', () => {
    const text = '\uFEFFa,"b, c",d\r\n1,"say ""hi""","two\r\nlines"\r\n\r\n 2 , "x" ,3\n\n\n';
    expect(parseCsvRecords(text, 'f')).toEqual([
      { fields: ['a', 'b, c', 'd'], line: 1 },
      { fields: ['1', 'say "hi"', 'two\r\nlines'], line: 2 },
      { fields: ['2', 'x', '3'], line: 5 },
    ]);
  });
  it('keeps empty fields and a quoted empty line', () => {
    expect(parseCsvRecords('a,,\n""\n', 'f')).toEqual([
      { fields: ['a', '', ''], line: 1 },
      { fields: [''], line: 2 },
    ]);
  });
  it('reports an unclosed quote and junk after a closing quote with their lines', () => {
    expect(() => parseCsvRecords('a,b\n1,"open\n2,3\n', 'f.csv')).toThrow(new ValueError('f.csv: line 2: quoted field never closes (a " opened here has no matching ")'));
    expect(() => parseCsvRecords('a,b\n"x\ny"z,1\n', 'f.csv')).toThrow('f.csv: line 3: unexpected "z" after a closing quote');
  });
});

describe('readCsv', () => {
  it('reads features and an integer class label (last column by default)', () => {
    const ds = readCsv(file('iris.csv', 'sepal,petal,species\n5.1,1.4,0\n4.9,-1.5e-1,2\n6.3,+.5,1\n'));
    expect(Array.from(ds.x)).toEqual([5.1, 1.4, 4.9, -0.15, 6.3, 0.5].map(Math.fround));
    expect([ds.xShape, ds.yShape, ds.classes]).toEqual([[3, 2], [3], 3]);
    expect(ds.y).toBeInstanceOf(Int32Array);
    expect(Array.from(ds.y)).toEqual([0, 2, 1]);
    expect(ds.featureNames).toEqual(['sepal', 'petal']);
    expect(ds.classNames).toBeUndefined();
    validateDataset(ds);
  });

  it('maps string labels to indices in sorted order, from any named column, CRLF and trailing blank lines', () => {
    const ds = readCsv(file('names.csv', 'kind,w,h\r\ncat,1,2\r\n"dog",3,4\r\nant,5,6\r\ncat,7,8\r\n\r\n\r\n'), { labelColumn: 'kind' });
    expect(ds.classNames).toEqual(['ant', 'cat', 'dog']);
    expect(Array.from(ds.y)).toEqual([1, 2, 0, 1]);
    expect(Array.from(ds.x)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ds.featureNames).toEqual(['w', 'h']);
    // The test file reuses the training mapping even though it lacks 'ant'.
    const test = readCsv(file('names-test.csv', 'kind,w,h\ndog,1,1\n'), { labelColumn: 'kind', classNames: ds.classNames });
    expect([Array.from(test.y), test.classes]).toEqual([[2], 3]);
    expect(() => readCsv(file('names-bad.csv', 'kind,w,h\nemu,1,1\n'), { labelColumn: 'kind', classNames: ds.classNames })).toThrow(
      "line 2, column 'kind': label 'emu' is not one of the classes 'ant', 'cat', 'dog'",
    );
  });

  it('infers regression for fractional labels or many distinct integers, and obeys task', () => {
    const reg = readCsv(file('reg.csv', 'a,price\n1,2.5\n2,3\n'));
    expect([reg.y instanceof Float32Array, reg.yShape, reg.classes]).toEqual([true, [2, 1], undefined]);
    expect(Array.from(reg.y)).toEqual([2.5, 3]);
    const many = Array.from({ length: MAX_INFERRED_CLASSES + 1 }, (_, i) => `${i},${i * 10}`).join('\n');
    expect(readCsv(file('many.csv', `a,y\n${many}\n`)).y).toBeInstanceOf(Float32Array);
    const forced = readCsv(file('many2.csv', `a,y\n${many}\n`), { task: 'classification' });
    expect([forced.classes, forced.y[3]]).toEqual([201, 30]);
    expect(readCsv(file('int-reg.csv', 'a,y\n1,0\n2,1\n'), { task: 'regression' }).yShape).toEqual([2, 1]);
    expect(() => readCsv(file('frac.csv', 'a,y\n1,0.5\n2,1\n'), { task: 'classification' })).toThrow("line 2, column 'y': class label '0.5' is not an integer");
    expect(() => readCsv(file('str-reg.csv', 'a,y\n1,3\n2,big\n'), { task: 'regression' })).toThrow("line 3, column 'y': label 'big' is not a number (task 'regression')");
  });

  it('maps negative integer labels to sorted indices named by their values', () => {
    const ds = readCsv(file('pm.csv', 'a,y\n1,-1\n2,1\n3,-1\n'));
    expect([Array.from(ds.y), ds.classes, ds.classNames]).toEqual([[0, 1, 0], 2, ['-1', '1']]);
  });

  it('reports a missing file, an empty file, and a header without rows', () => {
    const missing = join(tmp, 'none.csv');
    expect(() => readCsv(missing)).toThrow(new ValueError(`readCsv: no such file ${missing} (expected a CSV file with a header row)`));
    const empty = file('empty.csv', '');
    expect(() => readCsv(empty)).toThrow(`${empty}: empty file (a header row naming the columns is required)`);
    const blank = file('blank.csv', '\n\r\n  \n');
    expect(() => readCsv(blank)).toThrow(`${blank}: empty file`);
    const header = file('header.csv', 'a,b\n');
    expect(() => readCsv(header)).toThrow(`${header}: no data rows after the header (line 1)`);
    expect(() => readCsv(file('one.csv', 'y\n1\n'))).toThrow("the header has 1 column ('y'); need at least one feature column and a label column");
    expect(() => readCsv(file('dup.csv', 'a,b,a\n1,2,3\n'))).toThrow("column name 'a' appears twice (columns 1 and 3)");
  });

  it('lists the columns when the label column is unknown', () => {
    const p = file('cols.csv', 'age,height,"wei,ght"\n1,2,3\n');
    expect(() => readCsv(p, { labelColumn: 'weight' })).toThrow(`${p}: unknown label column 'weight'; the columns are: 'age', 'height', 'wei,ght'`);
  });

  it('reports ragged rows with the line and the expected and received field counts', () => {
    const p = file('ragged.csv', 'a,b,c\n1,2,3\n4,5\n');
    expect(() => readCsv(p)).toThrow(new ValueError(`${p}: line 3: expected 3 fields (as in the header), got 2`));
    const p2 = file('ragged2.csv', 'a,b,c\n1,2,3,4\n');
    expect(() => readCsv(p2)).toThrow(`${p2}: line 2: expected 3 fields (as in the header), got 4`);
    // A quoted newline moves the line count on.
    const p3 = file('ragged3.csv', 'a,b,c\n1,2,"x\ny"\n4,5\n');
    expect(() => readCsv(p3)).toThrow(`${p3}: line 4: expected 3 fields`);
  });

  it('names the row, column and value of a bad feature or label', () => {
    const p = file('bad.csv', 'a,b,y\n1,2,0\n3,abc,1\n');
    expect(() => readCsv(p)).toThrow(new ValueError(`${p}: line 3, column 'b': value 'abc' is not a number`));
    expect(() => readCsv(file('nan.csv', 'a,b,y\n1,NaN,0\n'))).toThrow("line 2, column 'b': value 'NaN' is not finite (NaN and Inf are not allowed)");
    expect(() => readCsv(file('inf.csv', 'a,b,y\n-inf,1,0\n'))).toThrow("line 2, column 'a': value '-inf' is not finite");
    expect(() => readCsv(file('big.csv', 'a,b,y\n1e999,1,0\n'))).toThrow("line 2, column 'a': value '1e999' overflows to Infinity");
    expect(() => readCsv(file('hex.csv', 'a,b,y\n0x10,1,0\n'))).toThrow("value '0x10' is not a number");
    expect(() => readCsv(file('gap.csv', 'a,b,y\n1,,0\n'))).toThrow("line 2, column 'b': empty value");
    expect(() => readCsv(file('nanlabel.csv', 'a,y\n1,0\n2,nan\n'))).toThrow("line 3, column 'y': label 'nan' is not finite");
    expect(() => readCsv(file('nolabel.csv', 'a,y\n1,0\n2,\n'))).toThrow("line 3, column 'y': empty label");
  });

  it('says what it assumed when a fractional value turns whole-number labels into a regression target', () => {
    const rows = Array.from({ length: 30 }, (_, i) => `${i},${i % 3}`);
    rows[11] = '11,1.5'; // line 13: header is line 1, row i is line i + 2
    const notices: string[] = [];
    const p = file('typo.csv', `a,kind\n${rows.join('\n')}\n`);
    const ds = readCsv(p, { onNotice: (m) => notices.push(m) });
    expect(ds.y).toBeInstanceOf(Float32Array);
    expect(notices).toEqual([
      `${p}: column 'kind' is taken as a regression target because of the fractional value '1.5' on line 13; ` +
        'the other 29 labels are whole numbers (3 distinct), as class labels would be. ' +
        "If they are classes, fix that line, or pass task 'classification' (--task classification) to treat it as class labels, or task 'regression' to silence this",
    ]);
    // Forcing classification then names the line to fix; forcing regression is silent.
    expect(() => readCsv(p, { task: 'classification' })).toThrow(`${p}: line 13, column 'kind': class label '1.5' is not an integer`);
    readCsv(p, { task: 'regression', onNotice: (m) => notices.push(m) });
    expect(notices).toHaveLength(1);
    // A plain regression target (many fractional values) needs no notice.
    readCsv(file('plain-reg.csv', 'a,y\n1,2.5\n2,3\n3,0.25\n'), { onNotice: (m) => notices.push(m) });
    expect(notices).toHaveLength(1);
    // Many distinct whole numbers: taken as regression, and said so.
    const many = Array.from({ length: 30 }, (_, i) => `${i},${i}`).join('\n');
    const pm = file('many-int.csv', `a,y\n${many}\n`);
    readCsv(pm, { onNotice: (m) => notices.push(m) });
    expect(notices[1]).toBe(
      `${pm}: column 'y' holds 30 distinct whole numbers, more than ${MAX_INFERRED_CLASSES}, so it is taken as a regression target; ` +
        "pass task 'classification' (--task classification) to treat it as class labels, or task 'regression' to silence this",
    );
  });

  it('maps labels onto fixed classNames (indices kept, numeric names by value), refusing others with the nearest name', () => {
    const names = ['setosa', 'versicolor', 'virginica'];
    const p = file('fixed.csv', 'a,s\n1,virginica\n2,setosa\n');
    const ds = readCsv(p, { classNames: names });
    expect([Array.from(ds.y), ds.classes, ds.classNames]).toEqual([[2, 0], 3, names]);
    const bad = file('fixed-bad.csv', 'a,s\n1,virginica\n2,Setosa \n3,setossa\n');
    expect(() => readCsv(bad, { classNames: names, classesFrom: 'the model' })).toThrow(
      new ValueError(`${bad}: line 3, column 's': label 'Setosa' is not one of the classes 'setosa', 'versicolor', 'virginica' of the model (did you mean 'setosa'?)`),
    );
    const num = readCsv(file('num-names.csv', 'a,y\n1,1.0\n2,-1\n'), { classNames: ['-1', '1'] });
    expect(Array.from(num.y)).toEqual([1, 0]);
  });

  it('with knownClasses, refuses a label outside them by line, and keeps the classes count', () => {
    const p = file('known.csv', 'a,y\n1,0\n2,3\n3,2\n');
    expect(() => readCsv(p, { knownClasses: [0, 1, 3], classesFrom: 'the training data train.csv' })).toThrow(
      new ValueError(`${p}: line 4, column 'y': label '2' is not one of the classes '0', '1', '3' of the training data train.csv`),
    );
    const ok = readCsv(file('known-ok.csv', 'a,y\n1,0\n2,0\n'), { knownClasses: [0, 1, 3] });
    expect([Array.from(ok.y), ok.classes]).toEqual([[0, 0], 4]);
    expect(() => readCsv(file('known-str.csv', 'a,y\n1,0\n2,cat\n'), { knownClasses: [0, 1] })).toThrow("line 3, column 'y': label 'cat' is not one of the classes '0', '1'");
    expect(() => readCsv(p, { knownClasses: [0, 1], task: 'regression' })).toThrow("classNames or knownClasses were given but task is 'regression'");
  });

  it('parses text directly (browser path) the same way', () => {
    const ds = parseCsv('x,y\n1,a\n2,b\n', 'upload.csv');
    expect([Array.from(ds.x), Array.from(ds.y), ds.classNames]).toEqual([[1, 2], [0, 1], ['a', 'b']]);
  });
});
