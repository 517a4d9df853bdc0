// Command-line values checked where they are parsed: a bad number names its flag and the range it
// takes, and every usage error (missing argument, unknown option or command) exits with EXIT_USAGE.
import { type Command, type CommanderError, InvalidArgumentError } from 'commander';
import { EXIT_OK, EXIT_USAGE } from './exitCodes';

/** A parser for an integer flag in [min, max]; commander names the flag in its error. */
export function intFlag(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** A parser for a decimal flag in [min, max]. */
export function numberFlag(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a number from ${min} to ${max}.`);
    return n;
  };
}

/** Help and version exit 0; every other commander error is bad usage. Call before adding commands. */
export function usageExitCodes(program: Command, exit: (code: number) => never = process.exit): Command {
  return program.exitOverride((e: CommanderError) => {
    const ok = e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version';
    exit(ok ? EXIT_OK : EXIT_USAGE);
  });
}
