/**
 * Which GEMM kernels a training step of quantized layers runs on (`--kernels`). Light on purpose
 * (no onnxruntime): the run format and the CLI import it.
 *
 * - `int`: a step whose bit-widths (weights, activations, errors) are all ≤ INT_KERNEL_MAX_BITS
 *   runs its quantized linear layers on integer GEMMs (src/quant/integer.ts); other steps as `fake`.
 * - `fake`: every GEMM in fp32 on fake-quantized values.
 * Both compute the same quantizers with the same codes: results agree up to fp32 rounding.
 */
export const KERNELS = ['int', 'fake'] as const;
export type Kernels = (typeof KERNELS)[number];
export const DEFAULT_KERNELS: Kernels = 'int';
/** Widest bit-width the integer kernels take (uint8 × int8 codes). */
export const INT_KERNEL_MAX_BITS = 8;
