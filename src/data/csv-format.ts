// CSV text → records (RFC 4180: quoted fields, "" escapes, newlines inside
// quotes, CRLF or LF). Browser-safe; csv-dataset.ts turns records into a
// Dataset and csv.ts reads files (Node).
import { ValueError } from '../core/errors.js';

export interface CsvRecord {
  fields: string[];
  /** 1-based line on which the record starts, for error messages. */
  line: number;
}

const QUOTE = 34; // "
const COMMA = 44; // ,
const CR = 13;
const LF = 10;

/**
 * Splits CSV text into records. Blank lines (a trailing newline, blank lines
 * at the end or between rows) are skipped. Unquoted fields are trimmed of
 * surrounding spaces; quoted fields are kept exactly.
 */
export function parseCsvRecords(text: string, source: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark is not part of the first column's name
  let line = 1;
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    let blank = true;
    for (;;) {
      const f = readField(text, i, line, source);
      fields.push(f.value);
      if (f.value !== '' || f.quoted) blank = false;
      i = f.end;
      line = f.line;
      const c = text.charCodeAt(i);
      if (c === COMMA) {
        blank = false;
        i++;
        continue;
      }
      // End of record: CRLF, LF, lone CR, or end of text.
      if (c === CR) i += text.charCodeAt(i + 1) === LF ? 2 : 1;
      else if (c === LF) i++;
      if (i <= text.length && (c === CR || c === LF)) line++;
      break;
    }
    if (!blank) records.push({ fields, line: start });
  }
  return records;
}

interface Field {
  value: string;
  quoted: boolean;
  /** Index of the character after the field (a comma, a line break, or the end). */
  end: number;
  /** Line the field ends on (quoted fields may span lines). */
  line: number;
}

function readField(text: string, i: number, line: number, source: string): Field {
  // Leading spaces before an opening quote are tolerated, as many writers emit `a, "b"`.
  let j = i;
  while (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9) j++;
  if (text.charCodeAt(j) !== QUOTE) {
    let end = i;
    while (end < text.length) {
      const c = text.charCodeAt(end);
      if (c === COMMA || c === CR || c === LF) break;
      end++;
    }
    return { value: text.slice(i, end).trim(), quoted: false, end, line };
  }
  const startLine = line;
  let value = '';
  let k = j + 1;
  for (;;) {
    const q = text.indexOf('"', k);
    if (q < 0) throw new ValueError(`${source}: line ${startLine}: quoted field never closes (a " opened here has no matching ")`);
    value += text.slice(k, q);
    if (text.charCodeAt(q + 1) === QUOTE) {
      value += '"';
      k = q + 2;
      continue;
    }
    k = q + 1;
    break;
  }
  line += countLineBreaks(text, j, k);
  while (text.charCodeAt(k) === 32 || text.charCodeAt(k) === 9) k++;
  const c = text.charCodeAt(k);
  if (k < text.length && c !== COMMA && c !== CR && c !== LF) {
    throw new ValueError(`${source}: line ${line}: unexpected ${JSON.stringify(text[k])} after a closing quote (expected a comma or the end of the line)`);
  }
  return { value, quoted: true, end: k, line };
}

function countLineBreaks(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) n++;
  }
  return n;
}
