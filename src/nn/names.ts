// The strings a model file may hold, checked when it is loaded and saved.
//
// A model file is data. Its strings reach a terminal (summary, errors), the
// demo's page and generated code; the exports write them only as escaped
// literals (src/interop/python-source.ts: pyStr), and this grammar keeps out what
// no honest name needs and what would be markup where it is shown:
//
// - a name (the model's, a layer's, a class's) is 1 to 256 characters
//   (Unicode code points); any letter, digit, space, punctuation or symbol
//   of any script is allowed (dense_1, hidden_3_bn, "conv block (3×3)",
//   'chat', "T-shirt/top", "数字 7", "😀");
// - no string holds a control character (U+0000–U+001F, U+007F–U+009F), a
//   line or paragraph separator (U+2028, U+2029), a bidirectional override
//   or isolate (U+202A–U+202E, U+2066–U+2069, which reorder what is shown)
//   or half of a surrogate pair;
// - every other string of the topology and compile options (a layer type,
//   an activation, a loss), and every key of their JSON objects, is at most
//   256 characters; the training data's path at most 4096;
// - a tensor's name is at most 512 characters.
// Anything else is refused with a one-line error naming the field.
import { ValueError } from '../core/errors.js';
import { codePointName, quoted } from '../core/text.js';

export const MAX_NAME = 256;
export const MAX_PATH = 4096;
export const MAX_TENSOR_NAME = 512;

const FORBIDDEN = /[\p{Cc}\p{Zl}\p{Zp}\p{Cs}\u202a-\u202e\u2066-\u2069]/u;

/** Why `s` is not a string a model file may hold (at most `max` code points), or null. */
export function stringProblem(s: string, max: number): string | null {
  const bad = FORBIDDEN.exec(s);
  if (bad) return `holds ${codePointName(bad[0])} at index ${bad.index}; control characters, line separators and bidirectional overrides are not allowed`;
  let n = 0;
  for (const _ of s) if (++n > max) return `is longer than ${max} characters`;
  return null;
}

/** Why `s` is not a name (model, layer, class), or null. */
export function nameProblem(s: unknown): string | null {
  if (typeof s !== 'string') return `must be a string, got ${typeof s}`;
  if (s.length === 0) return 'is empty; a name is 1 to 256 characters';
  return stringProblem(s, MAX_NAME);
}

/** Refuses `s` as the name in `field` (e.g. "topology.layers[2].name"), with the value quoted and escaped. */
export function checkName(where: string, field: string, s: unknown): void {
  const p = nameProblem(s);
  if (p) throw new ValueError(`${where}: ${field} ${typeof s === 'string' ? `${quoted(s)} ` : ''}${p}`);
}

/**
 * Checks every string and object key in a parsed JSON value against the
 * grammar (iteratively: a deeply nested file cannot overflow the stack).
 * Fields named `name` are names (non-empty).
 */
export function checkJsonStrings(where: string, field: string, value: unknown, max = MAX_NAME): void {
  const stack: [string, unknown, boolean][] = [[field, value, false]];
  while (stack.length) {
    const [path, v, isName] = stack.pop()!;
    if (typeof v === 'string') {
      const p = isName ? nameProblem(v) : stringProblem(v, max);
      if (p) throw new ValueError(`${where}: ${path} ${quoted(v)} ${p}`);
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push([`${path}[${i}]`, x, false]));
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const p = stringProblem(k, max);
        if (p) throw new ValueError(`${where}: ${path} has a key ${quoted(k)} that ${p}`);
        stack.push([`${path}.${k}`, x, k === 'name']);
      }
    }
  }
}

/** The metadata fields whose values are JSON, and how their strings are checked. */
const JSON_FIELDS = new Set(['topology', 'compile', 'class_names', 'scaler', 'vocabulary']);

/**
 * Checks a model file's metadata and tensor names against the grammar, on
 * save (where = 'save') and on load (where = the file): every key and value,
 * the strings inside the JSON fields, each class name as a name. A JSON field
 * that does not parse is left to the loader, which says so.
 */
export function checkModelStrings(where: string, metadata: Record<string, string>, tensorNames: readonly string[]): void {
  for (const [key, text] of Object.entries(metadata)) {
    const pk = stringProblem(key, MAX_NAME);
    if (pk) throw new ValueError(`${where}: metadata key ${quoted(key)} ${pk}`);
    if (!JSON_FIELDS.has(key)) {
      const p = stringProblem(text, MAX_PATH);
      if (p) throw new ValueError(`${where}: metadata ${key} ${quoted(text)} ${p}`);
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      continue;
    }
    if (key === 'class_names' && Array.isArray(value)) value.forEach((c, i) => checkName(where, `class_names[${i}]`, c));
    else checkJsonStrings(where, key, value);
  }
  // After the topology, whose layer names the tensors' names repeat: an error then names the layer.
  for (const name of tensorNames) {
    const p = stringProblem(name, MAX_TENSOR_NAME);
    if (p) throw new ValueError(`${where}: tensor name ${quoted(name)} ${p}`);
  }
}
