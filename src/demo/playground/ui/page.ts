// Small pieces of the page: the link's problems, a download, an upload.
import type { LinkProblems } from '../link-problems.js';
import type { UploadedPoints } from '../points.js';
import { CSV_MAX_BYTES, parsePointsCsv } from '../points.js';

/** Each problem as a list item's text (a link's words never become markup), the resolved ones marked; hidden once none is open. */
export function showLinkProblems(problems: LinkProblems): void {
  const box = document.getElementById('link-problems')!;
  const items = problems.items;
  box.hidden = !problems.open;
  const title = document.createElement('strong');
  title.textContent = `This link has ${items.length} problem${items.length === 1 ? '' : 's'}; the page uses the defaults for them:`;
  const list = document.createElement('ul');
  for (const p of items) {
    const li = Object.assign(document.createElement('li'), { textContent: p.text });
    if (p.resolvedBy !== null) {
      li.className = 'resolved';
      li.append(` (resolved: ${p.resolvedBy ? `you set ${p.resolvedBy}` : 'the page now follows your controls'})`);
    }
    list.append(li);
  }
  box.replaceChildren(title, list);
}

/** A CSV file's points; a file too large is refused before it is read. */
export async function readUpload(file: File): Promise<UploadedPoints> {
  if (file.size > CSV_MAX_BYTES) throw new Error(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB; the page reads CSV files of up to ${CSV_MAX_BYTES / 1e6} MB`);
  return parsePointsCsv(await file.text(), file.name);
}
