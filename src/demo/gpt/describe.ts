// What the GPT page says of a model opened from a file, as plain strings: the
// page sets them as text (a file's name, model name and characters are data,
// never markup), and the fast suite tests them without a browser.
import { fmt } from '../ui/dom.js';
import type { ModelInfo } from './engine.js';

/** Characters shown past this many are counted, not listed: a vocabulary can be a whole script. */
const SHOWN_CHARACTERS = 200;

/** Characters a reader cannot see, said in words (symbols such as ␠ are missing from many fonts). */
const NAMED: Record<string, string> = { '\n': 'newline', '\t': 'tab', ' ': 'space', '\r': 'carriage return' };

/** Any other character that shows nothing (a control, a format character, another space): its code point. */
const UNSEEN = /^[\p{C}\p{Z}]$/u;

/** A vocabulary as one line a reader can type a prompt from: the characters that show nothing named first, then the others as they are. */
export function visibleCharacters(chars: readonly string[]): string {
  const listed = chars.slice(0, SHOWN_CHARACTERS);
  const unseen = listed.filter((c) => NAMED[c] !== undefined || UNSEEN.test(c)).map((c) => NAMED[c] ?? `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`);
  const seen = listed.filter((c) => NAMED[c] === undefined && !UNSEEN.test(c)).join('');
  const shown = [...unseen, ...(seen ? [seen] : [])].join(', ');
  return chars.length > SHOWN_CHARACTERS ? `${shown} … and ${fmt(chars.length - SHOWN_CHARACTERS)} more` : shown;
}

/** The line under "Training" once a file is opened: what it is, and what the page does with it. */
export function describeOpened(info: ModelInfo, fileName: string): string {
  return `Opened ${fileName}: the model “${info.name}”, ${fmt(info.params)} parameters · ${fmt(info.vocabulary)} characters · context ${info.contextLength}. It writes and saves here; Train starts a new model on the text. Its characters: ${visibleCharacters(info.characters)}`;
}
