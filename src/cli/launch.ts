// How bin/webgrad.js runs a command: in a child process whose stderr passes through a filter for Dawn's noise.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { isatty } from 'node:tty';
import { verboseEnv } from '../backend/load.js';

/*
 * Dawn (dawn.node) prints its adapter warnings ("Warning: Couldn't load
 * Vulkan ...", "... artificially reduced ...") with fprintf(stderr) from C++,
 * past anything JavaScript can intercept. src/backend/webgpu/quiet.ts hides
 * them in-process by pointing fd 2 elsewhere while adapters are requested, but
 * Node has no dup2(): it can only reopen stderr's target, which is wrong for a
 * file being overwritten (`> run.log 2>&1`: the reopened file would not share
 * stdout's offset), so there they showed. The robust way is a pipe we read:
 * the CLI runs the command again as a child process with stderr piped to this
 * one, which drops Dawn's warning blocks and passes every other byte on, to
 * whatever our stderr is (terminal, pipe or file). stdin and stdout are the
 * child's own (the progress bar still sees a terminal). The child's exit code
 * is ours; a signal that ended it ends us the same way; a crash says so.
 */

/** Set in the child's environment: it runs the command itself. */
export const CHILD_ENV = 'WEBGRAD_FILTERED_STDERR';

/** Commands that may open a WebGPU device, and so load dawn.node. */
const DEVICE_COMMANDS = new Set(['train', 'sweep', 'evaluate', 'predict', 'generate', 'selfcheck']);

const wantsVerbose = (argv: readonly string[], env: NodeJS.ProcessEnv) => argv.includes('--verbose') || verboseEnv(env);

/** Whether `webgrad ARGV` runs in a filtered child: a command that may load Dawn, not verbose, not already the child, on a POSIX system. */
export function filtersStderr(argv: readonly string[], env: NodeJS.ProcessEnv, platform: string = process.platform): boolean {
  return DEVICE_COMMANDS.has(argv[0] ?? '') && !wantsVerbose(argv, env) && env[CHILD_ENV] !== '1' && platform !== 'win32';
}

/**
 * Drops Dawn's log blocks from a stream of text: a line that starts with
 * "Warning: " or "Info: " (Dawn's prefixes; its "Error: " lines stay), the
 * indented "    at ..." lines under it and the blank line that ends it; and
 * Mesa's "XDG_RUNTIME_DIR is invalid" notice. Everything else passes
 * unchanged; a partial line goes on at once unless it could begin a block.
 */
export class DawnNoiseFilter {
  private pending = '';
  private inBlock = false;
  /** False after the start of a line was passed on: the rest of that line passes too. */
  private atLineStart = true;

  push(chunk: string): string {
    let text = this.pending + chunk;
    this.pending = '';
    let out = '';
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
      out += this.line(text.slice(0, nl));
      text = text.slice(nl + 1);
    }
    if (!text) return out;
    // Wait for the rest of the line to decide if it could begin a block, or (indented) go on one.
    if (this.atLineStart && ((this.inBlock && /^\s/.test(text)) || NOISE_STARTS.some((p) => p.startsWith(text) || text.startsWith(p)))) {
      this.pending = text;
    } else {
      out += text;
      this.atLineStart = false;
      this.inBlock = false;
    }
    return out;
  }

  /** What is left at the end of the stream. */
  end(): string {
    const rest = this.pending && !this.inBlock && !isNoise(this.pending) ? this.pending : '';
    this.pending = '';
    return rest;
  }

  private line(l: string): string {
    if (!this.atLineStart) {
      this.atLineStart = true;
      return `${l}\n`;
    }
    if (isNoise(l)) {
      this.inBlock = /^(Warning|Info): /.test(l);
      return '';
    }
    if (this.inBlock && (/^\s+at /.test(l) || l === '')) {
      this.inBlock = l !== ''; // the blank line closes the block
      return '';
    }
    this.inBlock = false;
    return `${l}\n`;
  }
}

const NOISE_STARTS = ['Warning: ', 'Info: ', 'error: XDG_RUNTIME_DIR'];
const isNoise = (l: string) => /^(Warning|Info): /.test(l) || /^error: XDG_RUNTIME_DIR is invalid/.test(l);

/** Signals that mean the child crashed (rather than was asked to stop). */
const CRASHES = new Set(['SIGSEGV', 'SIGABRT', 'SIGBUS', 'SIGILL', 'SIGFPE', 'SIGTRAP']);

/**
 * Runs `command args` with stderr through DawnNoiseFilter into `err`, stdin
 * and stdout inherited; resolves with how it ended. SIGTERM and SIGHUP sent to
 * us are passed on; so is SIGINT, except from a terminal, whose Ctrl-C already
 * reaches the child (our process group is its): a second one would make a
 * sweep quit at once instead of after the current run.
 */
export function runFiltered(command: string, args: readonly string[], env: NodeJS.ProcessEnv, err: { write(s: string): unknown }): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['inherit', 'inherit', 'pipe'], env });
    const filter = new DawnNoiseFilter();
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      const out = filter.push(chunk);
      if (out) err.write(out);
    });
    const fromTerminal = isatty(0);
    const forward = (signal: NodeJS.Signals) => () => void (signal === 'SIGINT' && fromTerminal ? undefined : child.kill(signal));
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    child.on('error', (e) => {
      for (const [s, h] of handlers) process.off(s, h);
      reject(e);
    });
    child.on('close', (code, signal) => {
      for (const [s, h] of handlers) process.off(s, h);
      const rest = filter.end();
      if (rest) err.write(rest);
      resolve({ code, signal });
    });
  });
}

/**
 * The CLI as bin/webgrad.js runs it: `webgrad ARGV` in a filtered child (see
 * above) when it may load Dawn and --verbose is not given, else `run` here.
 * Sets process.exitCode, or ends the process as the child ended.
 */
export async function launch(argv: string[], run: (argv: string[]) => Promise<number>): Promise<void> {
  const script = process.argv[1];
  if (!script || !filtersStderr(argv, process.env)) {
    process.exitCode = await run(argv);
    return;
  }
  let ended: { code: number | null; signal: NodeJS.Signals | null };
  try {
    ended = await runFiltered(process.execPath, [...process.execArgv, script, ...argv], { ...process.env, [CHILD_ENV]: '1' }, process.stderr);
  } catch {
    // No child process to be had (resource limits, say): run here, where only quiet.ts hides Dawn's lines.
    process.exitCode = await run(argv);
    return;
  }
  if (ended.signal === null) {
    process.exitCode = ended.code ?? 1;
    return;
  }
  if (CRASHES.has(ended.signal)) {
    process.stderr.write(`webgrad ${argv[0]}: the process crashed (${ended.signal}) in native code, such as Dawn's; what it printed is above. Rerun with --verbose to see all of Dawn's output.\n`);
  } else {
    // Asked to stop (Ctrl-C, kill): end the same way, so that a shell or a supervisor sees the signal.
    process.kill(process.pid, ended.signal);
  }
  process.exitCode = 128 + (constants.signals[ended.signal] ?? 0);
}
