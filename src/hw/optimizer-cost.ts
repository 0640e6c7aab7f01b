/**
 * What an optimizer adds to a training step's cost, against plain fp32 SGD with momentum — the
 * update every cost in bitcycle has always assumed and left unpriced, so SGD runs cost what they
 * always did (docs/hardware-model.md § Optimizers):
 *
 * - **State traffic.** Each step the update reads the weights, their gradient and the optimizer's
 *   state and writes the weights and the state back, each tensor at its precision
 *   (`--optimizer-precision`, fp32 otherwise) through the memory levels as a GEMM's tensors go
 *   (from its home level, passing once through every level nearer the datapath). The addition is
 *   this traffic's cost minus that of fp32 SGD's (weights, gradient, velocity): Adam adds a moment,
 *   8-bit weights and momentum save (a negative addition). Counted over the GEMM layers' weights
 *   (biases and batch-norm parameters are not counted); the update's element-wise arithmetic is
 *   not priced.
 * - **SVRG** runs a second forward and backward pass per step (the gradient at the anchor) and, at
 *   every anchor, a pass over the training split: one epoch's steps of forward and backward GEMMs
 *   without an update, at the step's precision.
 * - **HALP** runs one bit-centred pass per step, weights (the offset) and activations at its B bits
 *   (the products at the anchor are computed once per anchor, as the paper caches them; the
 *   simulation recomputes them, which costs nothing on the modelled hardware), and SVRG's full
 *   pass at every anchor. Its baseline is the same algorithm at full precision: SVRG.
 *
 * Pure.
 */
import type { LayerShape } from '../models/shapes.js';
import { elementBits, isFloatFormat } from '../formats/precision.js';
import { type OptimizerSpec, optimizerSetup, usesAnchor } from '../optim/optimizer.js';
import type { RolePrecision, StateRole } from '../optim/precision.js';
import type { HardwareProfile } from './profile.js';
import { type PartsCost, memoryTraffic, storedBits, zeroParts } from './cost.js';

/** An optimizer's additions to a run's cost, per step and per anchor. */
export interface OptimizerCost {
  /** Forward-and-backward passes per step (2 for SVRG and HALP, else 1); HALP's baseline (full-precision SVRG) runs these. */
  gemmPasses: number;
  /** HALP: its B bits: the run's inner step is one bit-centred pass with weights and activations at B bits. */
  stepBits?: number;
  /** Steps between anchors (0: none). */
  anchorEvery: number;
  /** Steps' worth of forward and backward GEMMs one anchor's full pass costs (an epoch's steps). */
  anchorPasses: number;
  /** The state traffic of one step, minus fp32 SGD's (negative when the optimizer's state is cheaper). */
  perStep: PartsCost;
}

/** One tensor the update touches: read and/or written once per step. */
interface UpdateTensor {
  elements: number;
  bits: number;
  float: boolean;
  read: boolean;
  write: boolean;
}

/** The tensors one step's update reads and writes, for `elements` weights. */
function updateTensors(spec: OptimizerSpec, elements: number): UpdateTensor[] {
  const precision = spec.precision ?? {};
  const at = (role: StateRole | null): { bits: number; float: boolean } => {
    const p: RolePrecision | undefined = role ? precision[role] : undefined;
    return p ? { bits: elementBits(p.format), float: isFloatFormat(p.format) } : { bits: 32, float: true };
  };
  const tensor = (role: StateRole | null, read: boolean, write: boolean): UpdateTensor => ({ elements, ...at(role), read, write });
  const weights = spec.kind === 'halp' ? { elements, bits: spec.bits, float: false, read: true, write: true } : tensor('weights', true, true);
  switch (spec.kind) {
    case 'sgd':
      return [weights, tensor('grad', true, false), tensor('momentum', true, true)];
    case 'adam':
    case 'adamw':
      return [weights, tensor('grad', true, false), tensor('momentum', true, true), tensor('momentum', true, true)];
    case 'svrg':
    case 'halp':
      // g and g̃ (the two passes' gradients), μ̃ and the anchor p̃, fp32
      return [weights, tensor('grad', true, false), tensor(null, true, false), tensor(null, true, false), tensor(null, true, false)];
  }
}

/** Memory cost of reading and writing these tensors once each, through the profile's levels. */
function trafficCost(profile: HardwareProfile, tensors: readonly UpdateTensor[]): PartsCost {
  const { memoryEnergyJ, memoryLatencyS } = memoryTraffic(
    profile,
    tensors.map((t) => ({ bits: t.elements * storedBits(profile, t.bits, t.float), read: t.read, write: t.write })),
  );
  const staticEnergyJ = profile.staticPowerW * memoryLatencyS;
  return { ...zeroParts(), memoryEnergyJ, memoryLatencyS, staticEnergyJ, energyJ: memoryEnergyJ + staticEnergyJ, latencyS: memoryLatencyS };
}

/**
 * The optimizer additions of a stored or resolved run (its optimizer from the config, its layers
 * and epoch length); undefined when it adds nothing (fp32 SGD, with or without Nesterov), so the
 * tally's per-step work stays what it was for such runs.
 */
export function runOptimizerCost(profile: HardwareProfile, layers: readonly LayerShape[], config: { optimizer?: string; optimizerPrecision?: string }, stepsPerEpoch: number): OptimizerCost | undefined {
  const cost = optimizerCost(profile, layers, optimizerSetup(config.optimizer, config.optimizerPrecision), stepsPerEpoch);
  const nothing = cost.gemmPasses === 1 && cost.anchorEvery === 0 && cost.stepBits === undefined && Object.values(cost.perStep).every((v) => v === 0);
  return nothing ? undefined : cost;
}

/**
 * The optimizer's additions for a run of `layers` (their weights are what the update touches),
 * `stepsPerEpoch` steps per epoch.
 */
export function optimizerCost(profile: HardwareProfile, layers: readonly LayerShape[], spec: OptimizerSpec, stepsPerEpoch: number): OptimizerCost {
  const elements = layers.reduce((n, l) => n + l.weightElements, 0);
  const anchored = usesAnchor(spec);
  return {
    gemmPasses: anchored ? 2 : 1,
    ...(spec.kind === 'halp' ? { stepBits: spec.bits } : {}),
    anchorEvery: anchored ? spec.every * stepsPerEpoch : 0,
    anchorPasses: anchored ? stepsPerEpoch : 0,
    perStep: difference(trafficCost(profile, updateTensors(spec, elements)), trafficCost(profile, updateTensors({ kind: 'sgd', nesterov: false }, elements))),
  };
}

function difference(a: PartsCost, b: PartsCost): PartsCost {
  const out = zeroParts();
  for (const k of Object.keys(out) as (keyof PartsCost)[]) out[k] = a[k] - b[k];
  return out;
}
