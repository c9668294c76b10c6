import { WebgradError } from '../core/errors.js';
import { selfcheck } from './selfcheck.js';

const USAGE = `webgrad: neural-network training on the GPU through WebGPU

Usage:
  webgrad selfcheck [--backend webgpu|cpu]   run every kernel on the device against the CPU reference
  webgrad help                               this text
`;

/** Runs a CLI command; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv;
  try {
    switch (command) {
      case 'selfcheck':
        return await selfcheck(rest);
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return 0;
      default:
        process.stderr.write(`webgrad: unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof WebgradError) {
      process.stderr.write(`webgrad ${command}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
