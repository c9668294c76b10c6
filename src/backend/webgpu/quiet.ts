/**
 * Dawn prints its adapter-discovery warnings ("Couldn't load Vulkan: ...",
 * "maxDynamicUniformBuffersPerPipelineLayout artificially reduced ...") with
 * fprintf(stderr) from native code: no create() flag, toggle or JS logging
 * callback reaches them. So, while Dawn looks for adapters, fd 2 points at an
 * unlinked temporary file. Node has no dup2(): a second handle on stderr's
 * target is opened through /proc/self/fd/2, then closing fd 2 and opening a
 * file hands back fd 2 (the lowest free descriptor), and the same two steps
 * put stderr back. The wrapped call is synchronous, so no JS runs meanwhile.
 *
 * Only where reopening gives the same behaviour: Linux, stderr a terminal, a
 * pipe, a device (/dev/null) or a file opened for appending. Not a socket
 * (Node's own child_process pipes: it cannot be reopened) nor a file being
 * overwritten (`2>log`: the reopened file would not share its offset with
 * stdout); there Dawn's lines show, as they would without webgrad. A crash
 * inside the call (none seen there) would take its message with it. The CLI
 * covers every case: it runs a command in a child process whose stderr is a
 * pipe it reads and filters (src/cli/launch.ts).
 *
 * Imported everywhere (by device.ts) but active only in Node on Linux; it
 * imports node: modules by name at run time, so browser bundles leave them out.
 */

type Fs = typeof import('node:fs');

export type Quiet = <T>(fn: () => T) => { value: T; text: string };

/** A function that runs a synchronous call with its stderr output captured, or null where that cannot be done safely. */
export async function quietStderr(): Promise<Quiet | null> {
  if (typeof process === 'undefined' || process.platform !== 'linux') return null;
  const names = ['node:fs', 'node:os', 'node:path']; // variables: browser bundles never include these
  try {
    const [fs, os, path] = (await Promise.all(names.map((n) => import(/* @vite-ignore */ n)))) as [Fs, typeof import('node:os'), typeof import('node:path')];
    const reopen = reopenFlags(fs);
    if (reopen === null) return null;
    return (fn) => {
      let log: number;
      try {
        const file = path.join(os.tmpdir(), `webgrad-dawn-${process.pid}-${Math.random().toString(36).slice(2)}.log`);
        log = fs.openSync(file, 'wx+', 0o600);
        fs.unlinkSync(file);
      } catch {
        return { value: fn(), text: '' };
      }
      try {
        const value = captured(fs, log, reopen, fn);
        return { value, text: fs.readFileSync(log, 'utf8') };
      } finally {
        fs.closeSync(log);
      }
    };
  } catch {
    return null;
  }
}

/** How to open stderr's target again with the same behaviour, or null when that is not possible. */
function reopenFlags(fs: Fs): number | null {
  const { O_WRONLY, O_APPEND } = fs.constants;
  // With fd 0 or 1 closed, open() would not hand back fd 2.
  fs.fstatSync(0);
  fs.fstatSync(1);
  const st = fs.fstatSync(2);
  if (st.isCharacterDevice() || st.isFIFO()) return O_WRONLY;
  if (!st.isFile()) return null;
  const flags = /^flags:\s*([0-7]+)$/m.exec(fs.readFileSync('/proc/self/fdinfo/2', 'utf8'));
  return flags && (parseInt(flags[1], 8) & O_APPEND) !== 0 ? O_WRONLY | O_APPEND : null;
}

function captured<T>(fs: Fs, log: number, reopen: number, fn: () => T): T {
  // A pipe without a reader would block open(); O_NONBLOCK makes it fail instead (then nothing is captured).
  let saved: number;
  try {
    saved = fs.openSync('/proc/self/fd/2', reopen | fs.constants.O_NONBLOCK);
  } catch {
    return fn();
  }
  try {
    try {
      moveToStderr(fs, `/proc/self/fd/${log}`, fs.constants.O_WRONLY | fs.constants.O_APPEND);
    } catch {
      moveToStderr(fs, `/proc/self/fd/${saved}`, reopen);
      return fn();
    }
    try {
      return fn();
    } finally {
      moveToStderr(fs, `/proc/self/fd/${saved}`, reopen);
    }
  } finally {
    fs.closeSync(saved);
  }
}

/** Closes fd 2 and opens `path`, which takes the lowest free descriptor: 2. */
function moveToStderr(fs: Fs, path: string, flags: number): void {
  try {
    fs.closeSync(2);
  } catch {
    // already closed: the open below fills it
  }
  const fd = fs.openSync(path, flags);
  if (fd !== 2) {
    fs.closeSync(fd);
    throw new Error(`reopening stderr gave fd ${fd}`);
  }
}
