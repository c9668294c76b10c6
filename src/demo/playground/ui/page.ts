// Small pieces of the page: the link's problems, a download, an upload.
import type { UploadedPoints } from '../points.js';
import { CSV_MAX_BYTES, parsePointsCsv } from '../points.js';

/** Each problem as a list item's text: a link's words never become markup. */
export function showLinkProblems(problems: readonly string[]): void {
  const box = document.getElementById('link-problems')!;
  box.hidden = problems.length === 0;
  const title = document.createElement('strong');
  title.textContent = `This link has ${problems.length} problem${problems.length === 1 ? '' : 's'}; the page uses the defaults for them:`;
  const list = document.createElement('ul');
  for (const p of problems) list.append(Object.assign(document.createElement('li'), { textContent: p }));
  box.replaceChildren(title, list);
}

export function saveBytes(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A CSV file's points; a file too large is refused before it is read. */
export async function readUpload(file: File): Promise<UploadedPoints> {
  if (file.size > CSV_MAX_BYTES) throw new Error(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB; the page reads CSV files of up to ${CSV_MAX_BYTES / 1e6} MB`);
  return parsePointsCsv(await file.text(), file.name);
}
