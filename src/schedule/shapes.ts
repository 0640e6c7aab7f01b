/**
 * The shape functions shared by precision and learning-rate policies (docs/schedules.md): pure
 * functions of (iteration t, total iterations) → a level, 1 at the top of the policy's range and
 * 0 at its bottom. A precision policy maps the level onto [Bmin, Bmax] and rounds; a learning-rate
 * policy maps it onto [low rate, high rate].
 *
 * The formulas are those of LRBench (git-disl/LRBench, `lr/LRfunctions.py`; Wu et al., "Demystifying
 * Learning Rate Policies for High Accuracy Training of Deep Neural Networks", IEEE BigData 2019) and
 * of PyTorch's `torch.optim.lr_scheduler`, cited at each, written on the level (k0 = 0, k1 = 1) and
 * with every position in time a fraction of the run, so one spec means the same over any length.
 */

/** Cycles of a cyclic function unless told (CPT's default: 32 cycles per run). */
export const DEFAULT_CYCLES = 32;

/**
 * A fraction of the run written as a decimal (`0.25`), kept exact: `fractionOf` is
 * floor(f · total) in integers, so `at=0.29` over 100 iterations is iteration 29 (0.29 · 100 is
 * 28.999… in floating point).
 */
export interface Fraction {
  /** Canonical decimal text (`0.5`, never `.50`). */
  readonly text: string;
  readonly value: number;
  readonly numerator: bigint;
  readonly denominator: bigint;
}

/** A decimal in 0..1 (`0.3`, `.3`, `1`), or null if the text is not one. */
export function parseFraction(text: string): Fraction | null {
  const m = /^(\d*)(?:\.(\d+))?$/.exec(text);
  if (!m || (m[1] === '' && m[2] === undefined) || text.length > 20) return null;
  const whole = m[1] === '' ? '0' : m[1]!;
  const decimals = (m[2] ?? '').replace(/0+$/, '');
  const numerator = BigInt(whole + decimals);
  const denominator = 10n ** BigInt(decimals.length);
  if (numerator > denominator) return null;
  const canonical = `${BigInt(whole)}${decimals ? `.${decimals}` : ''}`;
  return { text: canonical, value: Number(canonical), numerator, denominator };
}

/** floor(f · total) iterations, exactly. */
export function fractionOf(f: Fraction, total: number): number {
  return Number((f.numerator * BigInt(Math.floor(total))) / f.denominator);
}


/** A shape function and its parameters; `kind` is the function's precision-domain name. */
export type Shape =
  | { kind: 'static' }
  | { kind: 'step'; every: Fraction; gamma: number }
  | { kind: 'multistep'; at: readonly Fraction[]; gamma: number }
  | { kind: 'exp'; gamma: number }
  | { kind: 'poly'; power: number }
  | { kind: 'ramp' }
  | { kind: 'tri' | 'tri2' | 'sine' | 'cpt'; cycles: number }
  | { kind: 'exp-range'; cycles: number; gamma: number }
  | { kind: 'cosine-anneal' }
  | { kind: 'cosine-restarts'; cycles: number; mult: number }
  | { kind: 'one-cycle'; peak: Fraction; div: number; finalDiv: number }
  | { kind: 'alternate'; from: Fraction | null };

export type ShapeKind = Shape['kind'];

/** The functions that repeat over `cycles=N` cycles of the run. */
export type CyclicKind = 'tri' | 'tri2' | 'exp-range' | 'sine' | 'cosine-restarts' | 'cpt';
export type CyclicShape = Extract<Shape, { kind: CyclicKind }>;

const CYCLIC: ReadonlySet<ShapeKind> = new Set<CyclicKind>(['tri', 'tri2', 'exp-range', 'sine', 'cosine-restarts', 'cpt']);

export function isCyclic<S extends Shape>(shape: S): shape is Extract<S, { kind: CyclicKind }> {
  return CYCLIC.has(shape.kind);
}

/** Period length of a cyclic schedule: T = floor(total / N), at least 1 (CPT's `cyclic_period`). */
export function cyclePeriod(total: number, cycles: number): number {
  return Math.max(1, Math.floor(total / cycles));
}

/**
 * Round half to even, as numpy's `np.rint` (CPT's schedule): 4.5 → 4, 5.5 → 6. `Math.round`
 * rounds halves up, which moves one step per cycle for cpt:3-6, 4-6 and 5-8.
 */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * The triangle wave of CLR (Smith 2017; PyTorch `CyclicLR`, LRBench `__TRI__`): 0 at the start of
 * each period, 1 at its middle, linear in between. PyTorch's `1 − |t/s − 2·cycle + 1|` with half
 * period s, written on the phase p = (t mod T)/T.
 */
function triangle(t: number, period: number): number {
  const phase = (t % period) / period;
  return phase < 0.5 ? 2 * phase : 2 * (1 - phase);
}

/** PyTorch's `OneCycleLR._annealing_cos`: from `start` (pct 0) to `end` (pct 1) along half a cosine. */
function annealingCos(start: number, end: number, pct: number): number {
  return end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1);
}

/** First period of `cosine-restarts`: N periods of T0·mult^i fill the run (T0 = floor(total/N) when mult = 1). */
export function restartsPeriod(total: number, cycles: number, mult: number): number {
  if (mult === 1) return cyclePeriod(total, cycles);
  return Math.max(1, Math.floor((total * (mult - 1)) / (mult ** cycles - 1)));
}

/** The first period of a cyclic shape over `total` iterations. */
export function firstPeriod(shape: CyclicShape, total: number): number {
  return shape.kind === 'cosine-restarts' ? restartsPeriod(total, shape.cycles, shape.mult) : cyclePeriod(total, shape.cycles);
}

/** The level of `shape` at iteration t (0-based) of a run of `total` iterations. */
export function shapeLevel(shape: Shape, t: number, total: number): number {
  switch (shape.kind) {
    case 'static':
      // LRBench __FIX__: k0
      return 1;
    case 'step':
      // PyTorch StepLR (closed form): γ^⌊t / step_size⌋; LRBench __STEP__: k0·γ^⌊t/l⌋; step_size = ⌊every·total⌋ ≥ 1
      return shape.gamma ** Math.floor(t / Math.max(1, fractionOf(shape.every, total)));
    case 'multistep': {
      // PyTorch MultiStepLR: γ^bisect_right(milestones, t); LRBench __NSTEP__; milestone = ⌊at·total⌋
      let passed = 0;
      for (const at of shape.at) if (t >= fractionOf(at, total)) passed++;
      return shape.gamma ** passed;
    }
    case 'exp':
      // PyTorch ExponentialLR / LRBench __EXP__: k0·γ_it^t, with γ given per run: γ_it = γ^(1/total)
      return shape.gamma ** (t / total);
    case 'poly':
      // PyTorch PolynomialLR(total_iters = total): (1 − min(t, total)/total)^power; LRBench __POLY__ with k0 = 0
      return (1 - Math.min(t, total) / total) ** shape.power;
    case 'ramp':
      // PyTorch LinearLR from the low level to the high one, reaching it at the last iteration (ramp:'s definition)
      return total <= 1 ? 1 : Math.min(1, t / (total - 1));
    case 'tri':
      // PyTorch CyclicLR mode 'triangular' (scale 1); LRBench __TRI__
      return triangle(t, cyclePeriod(total, shape.cycles));
    case 'tri2': {
      // PyTorch CyclicLR mode 'triangular2': the amplitude halves every cycle, scale 1/2^(cycle−1); LRBench __TRI2__
      const period = cyclePeriod(total, shape.cycles);
      return triangle(t, period) / 2 ** Math.floor(t / period);
    }
    case 'exp-range':
      // PyTorch CyclicLR mode 'exp_range' (scale γ_it^t, γ given per run); LRBench __TRIEXP__
      return triangle(t, cyclePeriod(total, shape.cycles)) * shape.gamma ** (t / total);
    case 'sine': {
      // LRBench __SIN__: (k1−k0)·|sin(π·t/(2l))| + k0, one cycle = 2l = T
      const period = cyclePeriod(total, shape.cycles);
      return Math.sin(Math.PI * ((t % period) / period));
    }
    case 'cosine-anneal':
      // PyTorch CosineAnnealingLR (closed form, T_max = total, η_min the low level); LRBench __COS__ with l = total.
      // (π·t)/total in this order: the learning rate of `--lr-schedule cosine` before policies, bit for bit.
      return 0.5 * (1 + Math.cos((Math.PI * t) / total));
    case 'cosine-restarts': {
      // PyTorch CosineAnnealingWarmRestarts (SGDR, Loshchilov & Hutter 2017): ½(1 + cos(π·T_cur/T_i)), T_i = T_0·mult^i
      let period = restartsPeriod(total, shape.cycles, shape.mult);
      let start = 0;
      if (shape.mult === 1) start = t - (t % period);
      else {
        while (t >= start + period) {
          start += period;
          period *= shape.mult;
        }
      }
      return 0.5 * (1 + Math.cos((Math.PI * (t - start)) / period));
    }
    case 'one-cycle': {
      // PyTorch OneCycleLR (anneal_strategy 'cos', two phases): from 1/div up to 1 until step peak·total − 1, then
      // down to 1/(div·final_div) at step total − 1 (a phase without length counts as done: PyTorch divides by 0)
      const initial = 1 / shape.div;
      const final = initial / shape.finalDiv;
      const peakStep = shape.peak.value * total - 1;
      if (t <= peakStep) return annealingCos(initial, 1, peakStep > 0 ? t / peakStep : 1);
      const span = total - 1 - peakStep;
      return annealingCos(1, final, span > 0 ? (t - peakStep) / span : 1);
    }
    case 'alternate': {
      // Dual-precision training (one model for two precision modes): the high level until ⌊from·total⌋
      // (the two-phase procedure's first phase), then low and high on alternate steps, low first
      const start = shape.from === null ? 0 : fractionOf(shape.from, total);
      return t < start ? 1 : (t - start) % 2;
    }
    case 'cpt': {
      // CPT (Fu et al., ICLR 2021), cyclic_adjust_precision in cpt_cifar/train.py:
      // ½(1 + cos(π·((t mod T)/T) + π)), evaluated as CPT writes it so every tie rounds as CPT's does
      const period = cyclePeriod(total, shape.cycles);
      return 0.5 * (1 + Math.cos(Math.PI * ((t % period) / period) + Math.PI));
    }
  }
}

/** Iterations of linear warm-up before the function: ⌊warmup·total⌋. */
export function warmupSteps(warmup: Fraction | null, total: number): number {
  return warmup === null ? 0 : fractionOf(warmup, total);
}

/**
 * The level with a warm-up prefix of W = ⌊warmup·total⌋ iterations: linear from 0 (the low level)
 * to the function's first value over W iterations, then the function over the remaining
 * total − W iterations, as HuggingFace's `get_*_schedule_with_warmup` (lr·t/W, then the schedule
 * on (t − W)/(total − W)) and PyTorch's `SequentialLR(LinearLR, main, milestones=[W])`.
 */
export function policyLevel(shape: Shape, warmup: Fraction | null, t: number, total: number): number {
  const w = warmupSteps(warmup, total);
  if (w === 0) return shapeLevel(shape, t, total);
  if (t < w) return shapeLevel(shape, 0, total - w) * (t / w);
  return shapeLevel(shape, t - w, total - w);
}
