// Writing Python source from TypeScript, so that data stays data: a string
// becomes a literal by one function (pyStr) that escapes everything but
// printable ASCII, a number is checked to be one, and generated lines go
// only into the `# <slot>` lines of a template that is a real .py file.
import { ValueError } from '../core/errors.js';

/**
 * A Python string literal of `s`, in single quotes and ASCII only: a
 * backslash and a quote escaped, and every other character outside
 * printable ASCII (controls, newlines, U+2028, non-ASCII letters, lone
 * surrogates) as \xXX, \uXXXX or \UXXXXXXXX. It never holds a newline or an
 * unescaped quote, so whatever `s` holds it cannot end the literal.
 */
export function pyStr(s: string): string {
  if (typeof s !== 'string') throw new ValueError(`pyStr: expected a string, got ${typeof s}`);
  let out = "'";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\\' || ch === "'") out += `\\${ch}`;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (cp < 0x100) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}'`;
}

/** A finite number as Python reads it (JavaScript prints 1e-7 and 0.001 as Python writes them); anything else is refused. */
export function pyNum(v: unknown): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ValueError(`export to PyTorch: expected a finite number, got ${JSON.stringify(v) ?? typeof v}`);
  return String(v);
}

export const pyBool = (v: boolean | undefined) => (v ? 'True' : 'False');

/** Numbers as the inside of a Python tuple or call: "3, 3". */
export const pyNums = (vs: readonly unknown[]) => vs.map(pyNum).join(', ');

/** A tuple literal: (3,) for one number, (3, 3) for two. */
export const pyTuple = (vs: readonly unknown[]) => `(${pyNums(vs)}${vs.length === 1 ? ',' : ''})`;

/** A list literal of strings. */
export const pyStrList = (vs: readonly string[]) => `[${vs.map(pyStr).join(', ')}]`;

const SLOT = /^( *)# <(\w+)>$/;

/**
 * The template with each line that is only `# <name>` replaced by
 * slots[name]'s lines, at the slot's indentation. A slot the template lacks
 * or a slot left unfilled is an error of webgrad's, said as such.
 */
export function fillTemplate(template: string, slots: Record<string, readonly string[]>, file: string): string {
  const used = new Set<string>();
  const out = template.split('\n').flatMap((line) => {
    const m = SLOT.exec(line);
    if (!m) return [line];
    const lines = slots[m[2]];
    if (!lines) throw new Error(`${file}: the template's slot <${m[2]}> has no code (a webgrad bug)`);
    used.add(m[2]);
    return lines.flatMap((l) => l.split('\n')).map((l) => `${m[1]}${l}`);
  });
  const unused = Object.keys(slots).filter((k) => !used.has(k));
  if (unused.length) throw new Error(`${file}: the template has no slot for ${unused.join(', ')} (a webgrad bug)`);
  return out.join('\n');
}
