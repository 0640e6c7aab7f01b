/**
 * Typed errors that point at the input. The CLI prints `error.message` as one line and exits
 * with `exitCode` (2 for bad input). Anything that is not a BitcycleError is a bug.
 */
export class BitcycleError extends Error {
  readonly exitCode: number = 2;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A bad command-line option: names the option and what is allowed. */
export class UsageError extends BitcycleError {
  constructor(readonly option: string, detail: string) {
    super(`${option}: ${detail}`);
  }
}

/** A schedule spec that cannot be parsed or is out of range. */
export class ScheduleError extends BitcycleError {
  constructor(readonly spec: string, detail: string) {
    super(`schedule "${spec}": ${detail}`);
  }
}

/** A hardware profile problem, located by file and JSON path (e.g. `$.compute.macEnergy`). */
export class ProfileError extends BitcycleError {
  constructor(readonly file: string, readonly jsonPath: string, detail: string) {
    super(`${file}: ${jsonPath}: ${detail}`);
  }
}

/** A data set that is missing or malformed. */
export class DataError extends BitcycleError {
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
  }
}

/** A run directory that is missing, damaged or not resumable. */
export class RunError extends BitcycleError {
  constructor(readonly runDir: string, detail: string) {
    super(`${runDir}: ${detail}`);
  }
}
