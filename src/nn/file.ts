/**
 * Node-only file access for model files: an atomic write (a crash or an
 * error mid-way leaves the old file whole) and a read with clear errors.
 * The browser build must not import this file.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { WebgradError } from '../core/errors.js';

/** Reading or writing a file failed; `cause` holds the system error. */
export class FileError extends WebgradError {
  override name = 'FileError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    if (options && 'cause' in options) this.cause = options.cause;
  }
}

/** What can be written: one buffer, or chunks (a generator may stream a large model). */
export type FileContents = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/**
 * Writes `contents` to `path` so that `path` holds either its old contents or
 * all of the new ones, never a mix: the bytes go to a uniquely named temp
 * file in the same directory (rename is only atomic within one file system),
 * which is fsynced and then renamed over `path`; the directory is fsynced so
 * that the rename itself survives a power loss. On any failure the temp file
 * is removed and a FileError naming `path` is thrown.
 */
export async function writeFileAtomic(path: string, contents: FileContents): Promise<void> {
  const target = resolve(path);
  const dir = dirname(target);
  const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx'); // 'x': never reuse (or follow a link at) an existing name
    for await (const chunk of chunksOf(contents)) await writeAll(handle, chunk);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, target);
    await removeStaleTemps(dir, basename(target));
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
    throw new FileError(`could not write ${path}: ${explain(e, dir)}; the old file, if any, is unchanged`, { cause: e });
  }
  await syncDirectory(dir);
}

/** Reads a whole model file; a missing file or a directory gets an error that names the path. */
export async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileError(`model file not found: ${path} (looked at ${resolve(path)})`, { cause: e });
    if (code === 'EISDIR') throw new FileError(`${path} is a directory, not a model file`, { cause: e });
    throw new FileError(`could not read model file ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Temp files that an interrupted save (a kill, a power cut) left next to
 * `name`: `.name.PID.HEX.tmp` whose process is gone. They are never loaded
 * (a load reads the path it is given); the next save of the same file removes them.
 */
export async function removeStaleTemps(dir: string, name: string): Promise<string[]> {
  const pattern = new RegExp(`^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.[0-9a-f]+\\.tmp$`);
  const removed: string[] = [];
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    const m = pattern.exec(entry);
    if (!m || processAlive(Number(m[1]))) continue;
    await rm(join(dir, entry), { force: true }).catch(() => undefined);
    removed.push(entry);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true; // another save in this process may be writing it
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function* chunksOf(contents: FileContents): AsyncIterable<Uint8Array> {
  if (contents instanceof Uint8Array) {
    yield contents;
    return;
  }
  for await (const chunk of contents) {
    if (!(chunk instanceof Uint8Array)) throw new TypeError(`a chunk to write was ${typeof chunk}, not a Uint8Array`);
    yield chunk;
  }
}

/** FileHandle.write may write less than asked; loop until the chunk is out. */
async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let done = 0;
  while (done < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, done, chunk.length - done);
    done += bytesWritten;
  }
}

/** Best effort: some platforms (Windows) cannot open or fsync a directory. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // The file itself is complete and renamed; only its durability across a power cut is weaker.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function explain(e: unknown, dir: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `the directory ${dir} does not exist`;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied in ${dir}`;
  if (code === 'EISDIR') return 'the path is a directory';
  if (code === 'ENOSPC') return 'the disk is full';
  return e instanceof Error ? e.message : String(e);
}
