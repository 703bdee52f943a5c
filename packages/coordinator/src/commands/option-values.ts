import { InvalidArgumentError } from 'commander';

// Parsers of option values, shared by every command: a wrong value is commander's one-line
// error naming the option, what it takes and what was given.

/** A positive integer (counts, sizes). */
export function positiveInt(name: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'`);
    return n;
  };
}

/** A non-negative integer (0 usually meaning all or off, as the option says). */
export function nonNegativeInt(name: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer, got '${v}'`);
    return n;
  };
}

/** A positive number of seconds (fractions allowed). */
export function positiveSeconds(name: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} takes a positive number of seconds, got '${v}'`);
    return n;
  };
}

/** A TCP port, 0 for any free one. */
export function tcpPort(name: string): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new InvalidArgumentError(`${name} must be an integer 0-65535 (0: a free port), got '${v}'`);
    return n;
  };
}
