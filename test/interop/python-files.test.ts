import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fillTemplate, pyStr } from '../../src/interop/python-source.js';

/*
 * The Python the PyTorch export writes lives in real .py files
 * (src/interop/python/), and strings become Python literals through pyStr
 * alone. Python itself checks both: it compiles every file, and reads every
 * literal back as the string it came from. CI has python3 (.ci/run); here
 * the tests are skipped without it, saying why.
 */
const PYTHON = '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'pass'], { encoding: 'utf8' });
const hasPython = probe.status === 0;
if (!hasPython && process.env.CI) throw new Error(`CI needs python3 for the Python source tests: ${probe.stderr || probe.error}`);
if (!hasPython) console.warn(`python-files.test.ts: skipped, ${PYTHON} does not run (${probe.error})`);

const FOLDER = fileURLToPath(new URL('../../src/interop/python/', import.meta.url));

/** Runs Python with `input` on stdin; returns stdout, or fails with stderr. */
function python(script: string, input = ''): string {
  const r = spawnSync(PYTHON, ['-c', script], { input, encoding: 'utf8', timeout: 60_000, env: { ...process.env, PYTHONIOENCODING: 'utf-8' } });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Strings that end a literal, a line or a docstring, or that Python reads specially. */
const HOSTILE = [
  '',
  'dense_1',
  'x"""\nimport os; os.system("touch /tmp/never")\n"""',
  "y'''\nopen('/tmp/never', 'w')\n'''",
  "it's",
  'back\\slash\\',
  '\\N{BULLET} \\x41 \\u0041 {braces} %s',
  'line\u2028separator\u2029paragraph\u0085next',
  'nul\u0000 esc\u001b[2J del\u007f csi\u009b',
  'carriage\rreturn\ttab\vvertical\fform',
  'bidi \u202e override \u2066 isolate',
  'lone \ud800 surrogate \udfff',
  'astral 😀 and 数字 7 and é',
  '# <init>',
  '</script><img src=x onerror=alert(1)>',
  'x'.repeat(5000),
];

describe('Python source', () => {
  it.skipIf(!hasPython)('every .py file of the export compiles', () => {
    const files = readdirSync(FOLDER).filter((f) => f.endsWith('.py'));
    expect(files.sort()).toEqual(['model.py', 'train.py']);
    // compile(), not py_compile: nothing is written into the source tree.
    const paths = JSON.stringify(files.map((f) => join(FOLDER, f))); // a JSON list of ASCII paths is a Python list
    const said = python([`for path in ${paths}:`, "    compile(open(path, encoding='utf-8').read(), path, 'exec')", "    print('compiled', path)"].join('\n'));
    expect(said.trim().split('\n')).toHaveLength(files.length);
  });

  it.skipIf(!hasPython)('pyStr writes ASCII literals that Python reads back as the very string, whatever it holds', () => {
    const literals = HOSTILE.map(pyStr);
    for (const l of literals) expect(l, 'printable ASCII only: no newline, no separator, no control character').toMatch(/^'[\x20-\x7e]*'$/);
    // One literal a line; Python evaluates each (ast.literal_eval runs no code) and answers with code points.
    const out = python(['import ast, json, sys', 'for line in sys.stdin.read().split("\\n"):', '    print(json.dumps([ord(c) for c in ast.literal_eval(line)]))'].join('\n'), literals.join('\n'));
    const got = out.trim().split('\n').map((l) => JSON.parse(l) as number[]);
    // Code points as JavaScript counts them, a lone surrogate included.
    expect(got).toEqual(HOSTILE.map((s) => Array.from(s, (c) => c.codePointAt(0)!)));
  });

  it('fills only whole-line slots, at their indentation, and names a slot the template lacks or leaves unfilled', () => {
    const template = 'def f(x):\n    # <body>\n    return x  # <not a slot>\n';
    expect(fillTemplate(template, { body: ['x = x + 1', 'if x:\n    x = 2'] }, 't.py')).toBe('def f(x):\n    x = x + 1\n    if x:\n        x = 2\n    return x  # <not a slot>\n');
    expect(() => fillTemplate(template, {}, 't.py')).toThrow('t.py: the template\'s slot <body> has no code (a webgrad bug)');
    expect(() => fillTemplate(template, { body: [], other: [] }, 't.py')).toThrow('t.py: the template has no slot for other (a webgrad bug)');
  });
});
