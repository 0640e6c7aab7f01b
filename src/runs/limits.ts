/** Limits shared by the CLI and the run.json reader (no dependencies, so `--help` stays light). */

/** Largest epoch count a run may have. */
export const MAX_EPOCHS = 100_000;
/** No data set we read has more training samples than this, so no epoch has more steps. */
export const MAX_STEPS_PER_EPOCH = 10_000_000;
