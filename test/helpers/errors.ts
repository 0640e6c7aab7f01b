import { expect } from 'vitest';
import { UsageError } from '../../src/errors.js';

/** The message of the UsageError `f` throws (the test fails if it throws nothing or something else). */
export function usageMessage(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}
