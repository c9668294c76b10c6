// What is left of a link's problems once the user takes over: a problem is
// resolved when the user sets one of the keys it names (the value the page
// chose for the link is then the user's), and one that names no key (a key
// this page does not have, text that is not URL-encoded) once the user changes
// anything at all, since the page's state is then the user's, not the link's.
// The banner goes when every problem is resolved, or a new link is loaded.
// Pure: the page and the unit tests share it.
import type { LinkKey, LinkProblem } from './state.js';

export interface ShownProblem extends LinkProblem {
  /** The key whose change resolved it ('' for a keyless one, resolved by any change), or null while open. */
  resolvedBy: LinkKey | '' | null;
}

export class LinkProblems {
  readonly items: ShownProblem[];

  constructor(problems: readonly LinkProblem[]) {
    this.items = problems.map((p) => ({ ...p, keys: [...p.keys], resolvedBy: null }));
  }

  /** The user set these keys; true when that resolved something. */
  changed(keys: readonly LinkKey[]): boolean {
    let any = false;
    for (const p of this.items) {
      if (p.resolvedBy !== null) continue;
      const hit = p.keys.find((k) => keys.includes(k));
      if (hit !== undefined || p.keys.length === 0) {
        p.resolvedBy = hit ?? '';
        any = true;
      }
    }
    return any;
  }

  /** Whether the banner should still be up: some problem is unresolved. */
  get open(): boolean {
    return this.items.some((p) => p.resolvedBy === null);
  }
}
