// Node-only: PNG files for charts and digit images. Browser code draws into
// an RgbaImage and leaves the file to this module.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PNG } from 'pngjs';
import { ValueError, WebgradError } from '../core/errors.js';
import { checkRgbaImage, type RgbaImage } from '../plot/canvas.js';

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

/** Reads a PNG of any colour type or bit depth as 8-bit RGBA. */
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
  if (bytes.length < SIGNATURE.length || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new ValueError(
      `readPng: ${path} is not a PNG file (its first bytes are [${head}], a PNG starts with 89 50 4e 47 0d 0a 1a 0a)`,
    );
  }
  let png: PNG;
  try {
    png = PNG.sync.read(bytes);
  } catch (e) {
    throw new ValueError(`readPng: ${path} is a damaged PNG file: ${(e as Error).message}`);
  }
  // A copy, so that the image owns exactly its bytes rather than a view into a shared pool.
  return { width: png.width, height: png.height, rgba: new Uint8Array(png.data) };
}
