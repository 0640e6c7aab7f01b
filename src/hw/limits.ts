/**
 * What a profile's numbers may be. Pure.
 *
 * A value is *unreachable* when no device could have it: outside the ranges of LIMITS, which are
 * many orders of magnitude wider than any real accelerator in each direction (a refused value is a
 * typo, a unit mistake such as `pJ` for `J`, or an expression that blows up at some bit-width).
 * Within them every cost the tool computes stays finite and positive: a training step of the
 * largest model (resnet-50, batch 2^20, 32-bit) costs at most ~1e25 J and ~1e16 s, a run of 1e9
 * such steps at most ~1e34 J and ~1e25 s, and the smallest step (mlp, batch 1, 1-bit) at least
 * ~1e-20 J and ~1e-20 s, so sums and savings neither overflow nor underflow nor divide by zero
 * (test/hw-cost.test.ts checks both corners). See docs/hardware-model.md, "Reachable values".
 *
 * `checkRequestedBits` evaluates the cost model at every operand pair a run can ask for (both
 * operands 1..32 bits: weights, activations and errors follow schedules of 1..32 bits, the
 * baseline can be static:32; integer and, on a profile with formats of both kinds, floating-point
 * operands) and holds the per-MAC energy and rate, multipass included, to the same ranges.
 */
import { MAX_BITS } from '../schedule/schedule.js';
import { MAX_OPERAND_BITS, WEIGHT_GRAD_BITS, macCost, operandText } from './cost.js';
import { num, profileError } from './messages.js';
import type { HardwareProfile } from './profile.js';

export interface Limit {
  /** Smallest allowed positive value. */
  readonly min: number;
  readonly max: number;
  /** Whether exactly 0 is allowed too. */
  readonly zero: boolean;
  /** Unit of min/max (SI base units, as compiled). */
  readonly unit: string;
}

/** Reachable ranges of every quantity, in the SI base units a profile compiles to. */
export const LIMITS = {
  clock: { min: 1, max: 1e15, zero: false, unit: 'Hz' },
  /** Per MAC, multipass included. */
  macEnergy: { min: 1e-24, max: 1e-3, zero: false, unit: 'J' },
  /** MACs per second, multipass included (a MAC of P passes runs at rate / P). */
  macThroughput: { min: 1, max: 1e24, zero: false, unit: 'MAC/s' },
  capacity: { min: 1, max: 1e24, zero: false, unit: 'bit' },
  /** readEnergy and writeEnergy. */
  accessEnergy: { min: 1e-24, max: 1e-3, zero: false, unit: 'J/bit' },
  bandwidth: { min: 1, max: 1e24, zero: false, unit: 'bit/s' },
  staticPower: { min: 1e-12, max: 1e9, zero: true, unit: 'W' },
  /** overhead.perGemm and overhead.perStep. */
  overhead: { min: 1e-15, max: 1e3, zero: true, unit: 's' },
} as const satisfies Record<string, Limit>;

/** Largest bit-width of an operand or a stored tensor the tool asks a profile for. */
export const REQUESTED_BITS_MAX = Math.max(MAX_BITS, WEIGHT_GRAD_BITS);

/** "must be between 1 and 1e24 MAC/s" (or "must be 0 or between …"). */
export function rangeText(limit: Limit): string {
  return `must be ${limit.zero ? '0 or ' : ''}between ${num(limit.min)} and ${num(limit.max)} ${limit.unit}`;
}

/** What is wrong with `value` for `limit` ("must be positive" / "must be between …"), or null. */
export function limitProblem(value: number, limit: Limit): string | null {
  if (Number.isNaN(value)) return 'must be a number';
  if (value === 0 && limit.zero) return null;
  if (value <= 0) return `must be ${limit.zero ? 'zero or positive' : 'positive'}`;
  if (!(value >= limit.min && value <= limit.max)) return rangeText(limit);
  return null;
}

/** Largest operand bit-width the profile accepts: its widest format with aboveMax "reject". */
export function operandBitsLimit(profile: HardwareProfile): number {
  return profile.aboveMax === 'reject' ? profile.formats[profile.formats.length - 1]!.bits : MAX_OPERAND_BITS;
}

/**
 * The operand kind pairs (first, second operand floating point?) whose placements can differ on
 * this profile: only integer pairs on a profile of one kind (an operand of the other kind falls
 * back to the same formats), and with shared operands one pair per shared kind.
 */
function kindPairs(profile: HardwareProfile): [boolean, boolean][] {
  const mixed = profile.formats.some((f) => f.float) && profile.formats.some((f) => !f.float);
  if (!mixed) return [[false, false]];
  return profile.operands === 'shared' ? [[false, false], [true, true]] : [[false, false], [false, true], [true, false], [true, true]];
}

/**
 * Evaluate the per-MAC cost at every operand pair (a, b), a and b in 1..32 (1..widest format
 * with aboveMax "reject"), of every kind pair whose placement can differ (integer first), and
 * refuse the profile when an energy or rate, multipass included, is out of LIMITS. The error
 * names the field, the bit-widths and, for floating-point operands, the kinds.
 */
export function checkRequestedBits(profile: HardwareProfile): void {
  const top = Math.min(REQUESTED_BITS_MAX, operandBitsLimit(profile));
  for (const [floatA, floatB] of kindPairs(profile)) checkKindPair(profile, top, floatA, floatB);
}

function checkKindPair(profile: HardwareProfile, top: number, floatA: boolean, floatB: boolean): void {
  const kinds = floatA || floatB ? [floatA ? 'floating-point' : 'integer', floatB ? 'floating-point' : 'integer'] : null;
  for (let a = 1; a <= top; a++) {
    for (let b = 1; b <= top; b++) {
      const c = macCost(profile, a, b, { floatA, floatB });
      const { passes, formatA, formatB } = c.placement;
      const formats = `${profile.formats[formatA]!.name} × ${profile.formats[formatB]!.name}`;
      const operands = kinds === null ? `${a}-bit × ${b}-bit operands` : `${a}-bit ${kinds[0]} × ${b}-bit ${kinds[1]} operands`;
      const at = `for ${operands} (${passes} pass${passes === 1 ? '' : 'es'} of ${formats}; e.g. the forward GEMM of a step at w/a/g = ${operandText(b, floatB)}/${operandText(a, floatA)}/8)`;
      const energyProblem = limitProblem(c.energyJ, LIMITS.macEnergy);
      if (energyProblem !== null) {
        throw profileError(profile.file, '$.compute.macEnergy', `${energyProblem} per MAC, got ${num(c.energyJ)} J ${at}`);
      }
      const rate = 1 / c.timeS;
      const rateProblem = limitProblem(rate, LIMITS.macThroughput);
      if (rateProblem !== null) {
        throw profileError(profile.file, '$.compute.macThroughput', `${rateProblem}, got ${num(rate)} MAC/s ${at}`);
      }
    }
  }
}
