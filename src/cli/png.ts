// Node-only: PNG files for charts and digit images. Browser code draws into
// an RgbaImage and leaves the file to this module.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32, inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { ValueError, WebgradError } from '../core/errors.js';
import { MAX_PIXELS } from '../data/image.js';
import { checkRgbaImage, MAX_SIDE, type RgbaImage } from '../plot/canvas.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
let tempCounter = 0;

/**
 * Writes `image` as an 8-bit RGBA PNG. The bytes go to a temporary file in
 * the same directory, which is then renamed over `path`, so a reader never
 * sees half a file and a crash never destroys the previous chart. Missing
 * parent directories are created.
 */
export function writePng(path: string, image: RgbaImage): void {
  checkRgbaImage(image, `writePng(${path})`);
  const png = new PNG({ width: image.width, height: image.height, colorType: 6, inputHasAlpha: true });
  png.data = Buffer.from(image.rgba.buffer, image.rgba.byteOffset, image.rgba.byteLength);
  const bytes = PNG.sync.write(png, { colorType: 6 });
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${tempCounter++}.tmp`);
  try {
    mkdirSync(dir, { recursive: true });
    const fd = openSync(temp, 'w');
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw new WebgradError(`writePng: could not write ${path}: ${(e as Error).message}`);
  }
}

/**
 * The largest picture readPng decodes: 4096×4096 = 16.8 M pixels (and at
 * most MAX_SIDE a side). Its use is a digit for a 28×28 model, and a 12 MP
 * phone photo (4032×3024) fits. Decoding costs about 20 bytes a pixel
 * (pngjs's inflated rows and RGBA result, then toMnistInput's gray planes):
 * ~340 MB at the cap, where a 16000×16000 file would ask for 5 GB. The size
 * is read from the IHDR chunk, so a huge file is refused before decoding.
 * The same cap as toMnistInput's, so whatever readPng returns it accepts.
 */
export const MAX_PNG_PIXELS = MAX_PIXELS;

/** Reads a PNG of any colour type or bit depth as 8-bit RGBA; refuses a damaged or oversized one, naming the file. */
export function readPng(path: string): RgbaImage {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ValueError(`readPng: no such file: ${path}`);
    if (code === 'EISDIR') throw new ValueError(`readPng: ${path} is a directory, not a PNG file`);
    throw new ValueError(`readPng: cannot read ${path}: ${(e as Error).message}`);
  }
  return decodePng(bytes, path);
}

/** A PNG file's bytes as 8-bit RGBA; `path` names the file in errors. Its size is checked before anything is decoded. */
export function decodePng(bytes: Buffer, path: string): RgbaImage {
  const { width, height } = pngSize(bytes, path);
  if (width * height > MAX_PNG_PIXELS || width > MAX_SIDE || height > MAX_SIDE) {
    throw new ValueError(
      `readPng: ${path} is ${width}×${height} pixels (${(width * height / 1e6).toFixed(1)} M); readPng takes at most ` +
        `${MAX_PNG_PIXELS.toLocaleString('en-US')} pixels (4096×4096) and ${MAX_SIDE} a side: scale the picture down first (a digit needs only 28×28)`,
    );
  }
  const damage = chunkProblem(bytes) ?? imageDataProblem(bytes, width, height);
  if (damage) throw damaged(path, damage);
  let png: PNG;
  try {
    png = PNG.sync.read(bytes);
  } catch (e) {
    throw damaged(path, pngjsReason(e));
  }
  // A copy, so that the image owns exactly its bytes rather than a view into a shared pool.
  return { width: png.width, height: png.height, rgba: new Uint8Array(png.data) };
}

const damaged = (path: string, reason: string) => new ValueError(`readPng: ${path} is a damaged PNG file, not readable (truncated or corrupt: ${reason})`);

const OTHER_FORMATS: [string, number[]][] = [
  ['a JPEG', [0xff, 0xd8, 0xff]],
  ['a GIF', [0x47, 0x49, 0x46, 0x38]],
  ['a BMP', [0x42, 0x4d]],
  ['a WebP or other RIFF file', [0x52, 0x49, 0x46, 0x46]],
];

/** Width and height from the IHDR chunk (bytes 16..24), which a PNG must start with; refuses anything that is not a PNG. */
export function pngSize(bytes: Uint8Array, path: string): { width: number; height: number } {
  if (bytes.length === 0) throw new ValueError(`readPng: ${path} is empty, not a PNG file`);
  if (bytes.length < SIGNATURE.length || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const other = OTHER_FORMATS.find(([, magic]) => magic.every((b, i) => bytes[i] === b));
    throw new ValueError(
      `readPng: ${path} is not a PNG file (its first bytes are [${head}], a PNG starts with 89 50 4e 47 0d 0a 1a 0a)` +
        (other ? `; it looks like ${other[0]}: convert it to PNG first` : ''),
    );
  }
  if (bytes.length < 24) throw damaged(path, `the file ends after ${bytes.length} bytes, inside the header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = String.fromCharCode(...bytes.subarray(12, 16));
  if (view.getUint32(8) !== 13 || type !== 'IHDR') throw damaged(path, `the first chunk is ${JSON.stringify(type)}, a PNG starts with a 13-byte IHDR chunk`);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  if (width === 0 || height === 0) throw damaged(path, `the header gives a ${width}×${height} image`);
  return { width, height };
}

/**
 * What is wrong with the chunks (one cut short, a checksum that fails, no
 * IEND), or null when every chunk is whole. pngjs would say only "read
 * requests waiting" or "unrecognised content".
 */
function chunkProblem(bytes: Uint8Array): string | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = SIGNATURE.length;
  for (;;) {
    if (at + 8 > bytes.length) return `the file ends after ${bytes.length} bytes, before the IEND chunk that closes a PNG`;
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) return `byte ${at} should start a chunk but holds ${JSON.stringify(type)}, not a chunk name`;
    const end = at + 12 + view.getUint32(at);
    if (end > bytes.length) return `the file ends after ${bytes.length} bytes, ${end - bytes.length} bytes short of the end of its ${type} chunk`;
    if (crc32(bytes.subarray(at + 4, end - 4)) !== view.getUint32(end - 4)) return `the ${type} chunk at byte ${at} fails its checksum`;
    if (type === 'IEND') return null;
    at = end;
  }
}

function pngjsReason(e: unknown): string {
  const text = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  if (/read requests waitng|read requests waiting/.test(text)) return 'the image data ends early';
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * What is wrong with the image data, or null: the IDAT chunks must inflate,
 * completely (zlib's checksum checked), to exactly the bytes the IHDR's size,
 * depth, colour type and interlacing need. pngjs fills a short image with
 * zeros and ignores a long one; a damaged file would load as another picture.
 * Inflating stops one byte past the need, so a file cannot ask for more memory
 * than its header declares. A depth or colour type PNG does not define is left to pngjs to name.
 */
function imageDataProblem(bytes: Uint8Array, width: number, height: number): string | null {
  const [depth, colorType, , , interlace] = bytes.subarray(24, 29);
  const channels = CHANNELS[colorType];
  if (channels === undefined || ![1, 2, 4, 8, 16].includes(depth) || interlace > 1) return null;
  const bits = channels * depth;
  const rows = (w: number, h: number) => (w > 0 && h > 0 ? h * (1 + Math.ceil((w * bits) / 8)) : 0);
  // Adam7's seven passes: [x0, y0, dx, dy].
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  const need = interlace ? passes.reduce((n, [x0, y0, dx, dy]) => n + rows(Math.ceil((width - x0) / dx), Math.ceil((height - y0) / dy)), 0) : rows(width, height);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Uint8Array[] = [];
  for (let at = SIGNATURE.length; at + 8 <= bytes.length; at += 12 + view.getUint32(at)) {
    if (String.fromCharCode(...bytes.subarray(at + 4, at + 8)) === 'IDAT') parts.push(bytes.subarray(at + 8, at + 8 + view.getUint32(at)));
  }
  if (parts.length === 0) return 'it has no IDAT chunk, which holds the image';
  let got: number;
  try {
    got = inflateSync(Buffer.concat(parts), { maxOutputLength: need + 1 }).length;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return `its image data inflates to more than the ${need} bytes a ${width}×${height} image of its kind needs`;
    return `its image data does not inflate (${(e as Error).message})`;
  }
  return got === need ? null : `its image data inflates to ${got} bytes, a ${width}×${height} image of its kind needs ${need}`;
}
