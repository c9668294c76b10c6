import { describe, expect, it } from 'vitest';
import { oneOf, parseArgs } from '../../src/cli/args.js';
import { ValueError } from '../../src/core/errors.js';

const KNOWN = ['lr', 'momentum', 'plot', 'epochs'];
const BOOLS = ['json', 'standardize'];
const parse = (...argv: string[]) => parseArgs(argv, KNOWN, BOOLS);

describe('parseArgs', () => {
  it('reads values, = values, booleans and positionals (a negative number is a value)', () => {
    const a = parse('model.st', '--lr', '-0.5', '--plot=out.png', '--json', '--standardize=false', 'x.png');
    expect([...a.flags]).toEqual([['lr', '-0.5'], ['plot', 'out.png'], ['json', 'true'], ['standardize', 'false']]);
    expect(a.positional).toEqual(['model.st', 'x.png']);
  });

  it('refuses an unknown flag, suggesting the nearest known one and listing them all', () => {
    expect(() => parse('--momentun', '0.9')).toThrow(
      new ValueError('unknown flag --momentun (did you mean --momentum?); known: --lr --momentum --plot --epochs --json --standardize'),
    );
    expect(() => parse('--jsno')).toThrow(/^unknown flag --jsno \(did you mean --json\?\); known: /);
    expect(() => parse('--frobnicate', '1')).toThrow(/^unknown flag --frobnicate; known: --lr /);
  });

  it('refuses a flag where a value belongs, so no file named --json is written', () => {
    expect(() => parse('--plot', '--json')).toThrow(new ValueError('--plot needs a value, got the flag --json (write --plot=--json if that is the value)'));
    expect(() => parse('--epochs', '--lr', '0.1')).toThrow(/^--epochs needs a value, got the flag --lr/);
    expect(parse('--plot=--json').flags.get('plot')).toBe('--json'); // spelt out with =: meant
    expect(() => parse('--plot')).toThrow(new ValueError('--plot needs a value'));
  });

  it('refuses a boolean given a value other than true or false, and a flag given twice', () => {
    expect(() => parse('--json=yes')).toThrow(new ValueError("--json takes no value (or =true / =false), got 'yes'"));
    expect(() => parse('--epochs', '5', '--epochs', '10')).toThrow(new ValueError("--epochs is given twice ('5' and '10'); give it once"));
  });
});

describe('oneOf', () => {
  const OPT = ['sgd', 'momentum', 'adam', 'adamw'] as const;
  it('returns an allowed value or the fallback, and refuses others with the nearest suggested', () => {
    expect(oneOf('optimizer', 'adamw', OPT, 'adam')).toBe('adamw');
    expect(oneOf('optimizer', undefined, OPT, 'adam')).toBe('adam');
    expect(() => oneOf('optimizer', 'adamm', OPT, 'adam')).toThrow(
      new ValueError("--optimizer must be one of sgd, momentum, adam, adamw; got 'adamm' (did you mean 'adam'?)"),
    );
    expect(() => oneOf('optimizer', 'lbfgs', OPT, 'adam')).toThrow(/got 'lbfgs'$/);
  });
});
