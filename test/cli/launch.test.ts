import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CHILD_ENV, DawnNoiseFilter, filtersStderr, launch, runFiltered } from '../../src/cli/launch.js';

// What dawn.node printed to stderr on this machine (Mesa llvmpipe, no Vulkan loader), between webgrad's own lines.
const DAWN = [
  "Warning: Couldn't load Vulkan: libvulkan.so.1: cannot open shared object file: No such file or directory",
  '    at operator() (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/vulkan/BackendVk.cpp:368)',
  '',
  'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 90 to 16 to fit dynamic offset allocation limit.',
  'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 80 to 16 to fit dynamic offset allocation limit.',
  'error: XDG_RUNTIME_DIR is invalid or not set in the environment.',
].join('\n') + '\n';
const OURS = [
  'webgrad train: a notice',
  '(node:123) Warning: a Node warning stays',
  'Error: Dawn\'s errors stay',
  '  indented lines of ours stay',
  '',
  'the CSV column Warning: stays too',
].join('\n') + '\n';

function filterAll(text: string, cut: number[]): string {
  const f = new DawnNoiseFilter();
  let out = '';
  let at = 0;
  for (const c of [...cut, text.length]) {
    out += f.push(text.slice(at, c));
    at = c;
  }
  return out + f.end();
}

describe('DawnNoiseFilter', () => {
  it('drops Dawn\'s warning blocks and keeps every other line, however the stream is cut into chunks', () => {
    const text = `${OURS}${DAWN}${OURS}`;
    for (let i = 0; i <= text.length; i++) expect(filterAll(text, [i]), `cut at ${i}`).toBe(`${OURS}${OURS}`);
    // Every chunk a single character.
    expect(filterAll(text, Array.from({ length: text.length }, (_, i) => i))).toBe(`${OURS}${OURS}`);
  });

  it('passes a partial line on at once unless it could begin a block, and keeps the end of a stream without a newline', () => {
    const f = new DawnNoiseFilter();
    expect(f.push('Epoch 1/3 ')).toBe('Epoch 1/3 ');
    expect(f.push('Warning: is part of this line\n')).toBe('Warning: is part of this line\n');
    expect(f.push('Warn')).toBe('');
    expect(f.push('ing: dawn\n')).toBe('');
    expect(f.push('    at dawn.cpp:1\n')).toBe('');
    expect(f.push('last words')).toBe('last words');
    expect(f.push('\n    at ours\n')).toBe('\n    at ours\n');
    expect(f.end()).toBe('');
    const g = new DawnNoiseFilter();
    expect(g.push('Warn')).toBe('');
    expect(g.end()).toBe('Warn');
  });
});

describe('which commands run in a filtered child', () => {
  it('those that may load Dawn, unless --verbose, WEBGRAD_VERBOSE=1, the child itself or Windows', () => {
    expect(filtersStderr(['train'], {}, 'linux')).toBe(true);
    expect(filtersStderr(['selfcheck', '--backend', 'cpu'], {}, 'darwin')).toBe(true);
    expect(filtersStderr(['export', 'm', '--to', 'onnx', 'f'], {}, 'linux')).toBe(false);
    expect(filtersStderr(['help'], {}, 'linux')).toBe(false);
    expect(filtersStderr(['train', '--verbose'], {}, 'linux')).toBe(false);
    expect(filtersStderr(['train'], { WEBGRAD_VERBOSE: '1' }, 'linux')).toBe(false);
    expect(filtersStderr(['train'], { [CHILD_ENV]: '1' }, 'linux')).toBe(false);
    expect(filtersStderr(['train'], {}, 'win32')).toBe(false);
  });
});

let dir: string | undefined;
const script = (name: string, code: string) => {
  dir ??= mkdtempSync(join(tmpdir(), 'webgrad-launch-'));
  const path = join(dir, name);
  writeFileSync(path, code);
  return path;
};
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

describe('runFiltered and launch', () => {
  it('a child\'s exit code comes back, its stderr filtered', async () => {
    const child = script('exit3.mjs', `process.stderr.write(${JSON.stringify(OURS + DAWN)}); process.stderr.write('bye\\n'); process.exitCode = 3;`);
    let err = '';
    const ended = await runFiltered(process.execPath, [child], process.env, { write: (s: string) => (err += s) });
    expect(ended).toEqual({ code: 3, signal: null });
    expect(err).toBe(`${OURS}bye\n`);
  });

  it('a crash is loud: what the child printed, the signal named, exit code 128 + its number', async () => {
    const child = script('crash.mjs', `process.stderr.write(${JSON.stringify(DAWN)} + 'The futex facility returned an unexpected error code.\\n'); process.abort();`);
    const argv1 = process.argv[1];
    const err: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
    try {
      process.argv[1] = child;
      await launch(['train', '--epochs', '1'], async () => 0);
      expect(process.exitCode).toBe(134);
    } finally {
      process.argv[1] = argv1;
      process.exitCode = undefined;
      write.mockRestore();
    }
    const text = err.join('');
    expect(text).not.toMatch(/Warning|Vulkan/);
    expect(text).toMatch(/^The futex facility returned an unexpected error code\.\n/);
    expect(text).toMatch(/\nwebgrad train: the process crashed \(SIGABRT\) in native code, such as Dawn's; what it printed is above\. Rerun with --verbose to see all of Dawn's output\.\n$/);
  });
});
