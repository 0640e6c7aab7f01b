/** Defaults of the cost model that help texts show (kept free of imports so `--help` stays fast). */

/** The profile `train` and `estimate` use unless told otherwise. */
export const DEFAULT_PROFILE = 'bit-fusion-45nm';

/** Bits of the errors (gradients w.r.t. activations) unless told otherwise. */
export const DEFAULT_BITS_GRAD = 8;
