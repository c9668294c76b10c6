import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ValueError } from '../core/errors.js';

/**
 * Checks, before anything trains, that `path` can be written: its folder
 * exists and is writable, and the path is not a folder. A run must not spend
 * an hour training and then fail to save.
 */
export function checkOutputPath(flag: string, path: string | undefined): void {
  if (path === undefined) return;
  const full = resolve(path);
  const dir = dirname(full);
  if (!existsSync(dir)) throw new ValueError(`--${flag} ${path}: the folder ${dir} does not exist; create it first`);
  if (!statSync(dir).isDirectory()) throw new ValueError(`--${flag} ${path}: ${dir} is not a folder`);
  if (existsSync(full) && statSync(full).isDirectory()) throw new ValueError(`--${flag} ${path} is a folder; give a file name inside it`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new ValueError(`--${flag} ${path}: the folder ${dir} is not writable`);
  }
}
