/*
 * Strings a model file might hold to attack what reads it: end a literal,
 * a docstring or a line, move a terminal's cursor, reorder what is shown,
 * inject markup, exhaust memory, or name a property every JavaScript
 * object has. A payload that ran would create `marker`.
 */
export function hostileValues(marker: string): [label: string, value: string][] {
  const m = JSON.stringify(marker);
  return [
    ['triple double quotes and a newline', `x"""\nimport os; os.system("touch ${marker}")\n"""`],
    ['triple double quotes on one line', `x"""; open(${m}, "w"); """`],
    ['triple single quotes on one line', `x'''; open(${m}, 'w'); '''`],
    ['a quote and a comment', `x'); open(${m}, 'w') #`],
    ['backslashes', 'a\\b\\\\c\\'],
    ['a newline and a comment', `x\n# ${marker}\nopen(${m}, 'w')`],
    ['a line separator', `x\u2028open(${m}, 'w')`],
    ['a paragraph separator', 'x\u2029y'],
    ['NUL', 'a\u0000b'],
    ['a terminal escape', 'red\u001b[31m\u001b]0;title\u0007'],
    ['a C1 control (CSI)', 'x\u009b2J'],
    ['a bidi override', 'abc\u202edcb'],
    ['a lone surrogate', 'x\ud800'],
    ['a template placeholder and a slot', '${process.exit(1)} # <init>'],
    ['markup', '</script><img src=x onerror="document.title=\'hacked\'">'],
    ['very long', 'n'.repeat(100_000)],
    ['__proto__', '__proto__'],
    ['constructor', 'constructor'],
    ['toString', 'toString'],
    ['a Python keyword', 'class'],
    ["an nn.Module attribute", 'forward'],
    ['non-ASCII', '数字 7 😀 é'],
    ['empty', ''],
  ];
}

/** What the model file grammar (src/nn/names.ts) refuses in any string. */
export const NEVER_LOADED = /[\p{Cc}\p{Zl}\p{Zp}\p{Cs}\u202a-\u202e\u2066-\u2069]/u;

/** The image shape of the test models. */
export const IMAGE = [4, 4, 1];
