// Strings that came from outside (a model file, a user) shown to a person:
// in a terminal a control character is markup (an escape sequence can move
// the cursor, recolour or rewrite what was printed), and a line separator
// breaks a one-line error in two. Such characters are shown as escapes.

/**
 * Characters that are never shown raw: C0 and C1 controls (Unicode Cc),
 * format characters (Cf: bidirectional overrides reorder what is shown,
 * zero-width ones hide), line and paragraph separators, surrogates without
 * their pair, private-use and unassigned code points.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}]/gu;

/** The escape of one code point: \n, \t and \r as such, others as \uXXXX (or \u{XXXXX} past the BMP). */
export function escapeCodePoint(c: string): string {
  const cp = c.codePointAt(0)!;
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/** `s` with every hidden character escaped (and backslashes doubled, so an escape shown is never ambiguous). */
export function printable(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(HIDDEN, escapeCodePoint);
}

/** `s` in double quotes for a one-line message: hidden characters and quotes escaped, cut after `max` code points. */
export function quoted(s: string, max = 60): string {
  const points = Array.from(s);
  const shown = points.length > max ? `${points.slice(0, max).join('')}` : s;
  const more = points.length > max ? `… (${points.length} characters)` : '';
  return `"${printable(shown).replace(/"/g, '\\"')}"${more}`;
}

/** The U+XXXX name of a code point, for messages. */
export const codePointName = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
