/**
 * Few-evaluation sweeps, part 1: low-rank completion of a configs × tasks error matrix and the
 * choice of which cells to train. Pure (no I/O, no clock; everything random is a function of a seed).
 *
 * A sweep's error matrix has one row per configuration (precision schedule × LR policy …) and one
 * column per task (seed, data set or model). Training every cell is what `--budget` avoids: the
 * sweep trains the cells `planCells` chooses, completes the matrix with `softImpute` and reports the
 * Pareto frontier of the estimated errors (./frontier-estimate.ts). The method is PEPPP's (Yang, Wu,
 * Chee, De Sa, Udell, ICLR 2022) adapted to a sweep without meta-training; see docs/peppp.md.
 */
import { BitcycleError } from '../errors.js';
import { hash32, mixSeed, permutation, Rng } from '../util/random.js';

/** A plan or an observation that does not fit the grid (unknown id, bad budget, non-finite error). */
export class SweepPlanError extends BitcycleError {
  constructor(detail: string) {
    super(`sweep plan: ${detail}`);
  }
}

// ---------------------------------------------------------------------------------------------
// SVD (one-sided Jacobi)
// ---------------------------------------------------------------------------------------------

/** Thin SVD `a = u · diag(s) · vᵀ`: `s` descending, `u` m × k, `v` n × k, k = min(m, n). */
export interface Svd {
  u: number[][];
  s: number[];
  v: number[][];
}

/** Column arrays of an SVD, internal form (columns of u and v). */
interface SvdColumns {
  /** k columns of length `rows` (a zero column where the singular value is 0). */
  u: Float64Array[];
  s: Float64Array;
  /** k columns of length `cols` (orthonormal). */
  v: Float64Array[];
}

/** Relative off-diagonal size below which two columns count as orthogonal. */
const JACOBI_EPS = 1e-13;
const JACOBI_MAX_SWEEPS = 100;

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k]! * b[k]!;
  return s;
}

/**
 * One-sided Jacobi (Hestenes): rotate pairs of columns of `w` (and of `v` alike) until all columns
 * are mutually orthogonal. Then `w = a·v` has orthogonal columns, whose norms are the singular values.
 */
function jacobiSweeps(w: Float64Array[], v: Float64Array[]): void {
  const k = w.length;
  for (let sweep = 0; sweep < JACOBI_MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < k - 1; p++) {
      for (let q = p + 1; q < k; q++) {
        const wp = w[p]!;
        const wq = w[q]!;
        const alpha = dot(wp, wp);
        const beta = dot(wq, wq);
        const gamma = dot(wp, wq);
        if (gamma === 0 || Math.abs(gamma) <= JACOBI_EPS * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < wp.length; i++) {
          const x = wp[i]!;
          const y = wq[i]!;
          wp[i] = c * x - s * y;
          wq[i] = s * x + c * y;
        }
        const vp = v[p]!;
        const vq = v[q]!;
        for (let i = 0; i < vp.length; i++) {
          const x = vp[i]!;
          const y = vq[i]!;
          vp[i] = c * x - s * y;
          vq[i] = s * x + c * y;
        }
      }
    }
    if (!rotated) return;
  }
}

/**
 * SVD of the m × n row-major matrix `data`, computed on the orientation with at least as many rows
 * as columns. `warmV` (the `v` of a previous SVD of a nearby matrix, same shape) starts Jacobi from
 * `a·warmV`, whose columns are then nearly orthogonal: one or two sweeps instead of ten.
 */
function svdColumns(data: Float64Array, m: number, n: number, warmV?: Float64Array[]): SvdColumns {
  const tall = m >= n;
  const rows = tall ? m : n;
  const k = tall ? n : m;
  const at = tall ? (r: number, c: number) => data[r * n + c]! : (r: number, c: number) => data[c * n + r]!;
  const v: Float64Array[] = [];
  const w: Float64Array[] = [];
  const start = warmV && warmV.length === k && warmV[0]?.length === k ? warmV : undefined;
  for (let c = 0; c < k; c++) {
    const vc = new Float64Array(k);
    if (start) vc.set(start[c]!);
    else vc[c] = 1;
    v.push(vc);
    const wc = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += at(r, j) * vc[j]!;
      wc[r] = s;
    }
    w.push(wc);
  }
  jacobiSweeps(w, v);
  const norms = w.map((col) => Math.sqrt(dot(col, col)));
  const order = norms.map((_, i) => i).sort((a, b) => norms[b]! - norms[a]! || a - b);
  const s = new Float64Array(k);
  const uCols: Float64Array[] = [];
  const vCols: Float64Array[] = [];
  order.forEach((src, dst) => {
    const sigma = norms[src]!;
    s[dst] = sigma;
    const col = w[src]!;
    uCols.push(sigma > 0 ? col.map((x) => x / sigma) : new Float64Array(rows));
    vCols.push(v[src]!);
  });
  // In the wide orientation the Jacobi ran on aᵀ: its "u" is a's v and its "v" is a's u.
  return tall ? { u: uCols, s, v: vCols } : { u: vCols, s, v: uCols };
}

function toRowMajor(a: readonly (readonly number[])[]): { data: Float64Array; m: number; n: number } {
  const m = a.length;
  const n = m === 0 ? 0 : a[0]!.length;
  const data = new Float64Array(m * n);
  a.forEach((row, i) => {
    if (row.length !== n) throw new SweepPlanError(`matrix row ${i} has ${row.length} entries, row 0 has ${n}`);
    row.forEach((x, j) => (data[i * n + j] = x));
  });
  return { data, m, n };
}

/** Columns (length `len` each) as an array of rows. */
function columnsToRows(cols: readonly Float64Array[], len: number): number[][] {
  return Array.from({ length: len }, (_, i) => cols.map((c) => c[i]!));
}

/**
 * Thin singular value decomposition of a dense matrix by one-sided Jacobi rotations (accurate to
 * rounding for the few-hundred × few-tens matrices of a sweep; O(min(m,n)² · max(m,n)) per sweep).
 */
export function svd(a: readonly (readonly number[])[]): Svd {
  const { data, m, n } = toRowMajor(a);
  if (m === 0 || n === 0) return { u: [], s: [], v: [] };
  const r = svdColumns(data, m, n);
  return { u: columnsToRows(r.u, m), s: Array.from(r.s), v: columnsToRows(r.v, n) };
}

// ---------------------------------------------------------------------------------------------
// SoftImpute
// ---------------------------------------------------------------------------------------------

export interface SoftImputeOptions {
  /**
   * Largest rank of the fit. Default: chosen with λ by validation among 1…min(8, m, n) (see
   * `softImpute`).
   */
  rank?: number;
  /**
   * Weight λ of the nuclear norm. Default: chosen with the rank by validation on the grid
   * λ_max·10^(−k/2), k = 1…12, λ_max = the largest singular value of the zero-filled matrix (the
   * smallest λ whose solution is 0).
   */
  lambda?: number;
  /**
   * How the objective is minimised: `als` (default) alternates exact ridge regressions over the
   * observed entries on the factored form; `svd` is Mazumder et al.'s iteration of soft-thresholded
   * SVDs (with Nesterov momentum). The same objective; where the rank cap does not bind (a convex
   * problem) the same minimiser. `als` takes fewer and cheaper iterations on sparse grids.
   */
  solver?: 'als' | 'svd';
  /** Iterations per λ of the path (default 500). */
  maxIterations?: number;
  /**
   * Stop a λ when an iteration lowers the objective by less than `tolerance` times its value
   * (`als`) or moves the fit by less than `tolerance`·‖Z‖_F (`svd`). Default 1e-5.
   */
  tolerance?: number;
  /** Re-fit the kept singular values by least squares on the observed entries (default true). */
  debias?: boolean;
  /** Seed of the validation folds (default 0). */
  seed?: number;
}

export interface SoftImputeResult {
  /** The observed entries as given, the missing ones from the low-rank fit. */
  completed: number[][];
  /** The low-rank fit everywhere (observed entries included). */
  fit: number[][];
  /** The λ used (given or chosen). */
  lambda: number;
  /** Rank of the fit (≤ the rank cap used). */
  rank: number;
  /** Its nonzero singular values (after shrinkage and debiasing), descending. */
  singularValues: number[];
  /** Row factors `u·√s` (m × rank): row i's embedding; the fit is `rowFactors · colFactorsᵀ`. */
  rowFactors: number[][];
  /** Column factors `v·√s` (n × rank). */
  colFactors: number[][];
  /** Iterations summed over the λ path of the final fit. */
  iterations: number;
}

interface Problem {
  x: Float64Array;
  mask: Uint8Array;
  m: number;
  n: number;
}

/** A fit: u (columns, orthonormal), s (≥ 0), v; z = u·diag(s)·vᵀ dense. */
interface Fit {
  u: Float64Array[];
  s: number[];
  v: Float64Array[];
  z: Float64Array;
}

/** λ grid, as fractions of λ_max: 10^(−k/2), k = 1…12. */
const LAMBDA_GRID = Array.from({ length: 12 }, (_, k) => 10 ** (-(k + 1) / 2));
/** Largest rank the validation tries (never more than min(m, n)). */
const MAX_RANK = 8;
const FOLDS = 5;
/** λs in a row not better than its best after which the validation stops a rank's path. */
const PATIENCE = 3;
/** Observations a validation fold leaves in every row and column it holds a cell out of. */
const KEEP = 2;

/** U·diag(s)·Vᵀ as a dense m × n matrix. */
function compose(u: readonly Float64Array[], s: readonly number[], v: readonly Float64Array[], m: number, n: number): Float64Array {
  const z = new Float64Array(m * n);
  for (let k = 0; k < s.length; k++) {
    const sk = s[k]!;
    if (sk === 0) continue;
    const uk = u[k]!;
    const vk = v[k]!;
    for (let i = 0; i < m; i++) {
      const a = sk * uk[i]!;
      if (a === 0) continue;
      for (let j = 0; j < n; j++) z[i * n + j]! += a * vk[j]!;
    }
  }
  return z;
}

/** Solve g·d = h for a small symmetric positive definite g (r × r, flat) by Cholesky; g is overwritten. */
function choleskySolve(g: Float64Array, h: Float64Array, r: number): Float64Array {
  for (let j = 0; j < r; j++) {
    let d = g[j * r + j]!;
    for (let k = 0; k < j; k++) d -= g[j * r + k]! ** 2;
    d = Math.sqrt(Math.max(d, 1e-300));
    g[j * r + j] = d;
    for (let i = j + 1; i < r; i++) {
      let s = g[i * r + j]!;
      for (let k = 0; k < j; k++) s -= g[i * r + k]! * g[j * r + k]!;
      g[i * r + j] = s / d;
    }
  }
  const y = new Float64Array(r);
  for (let i = 0; i < r; i++) {
    let s = h[i]!;
    for (let k = 0; k < i; k++) s -= g[i * r + k]! * y[k]!;
    y[i] = s / g[i * r + i]!;
  }
  for (let i = r - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < r; k++) s -= g[k * r + i]! * y[k]!;
    y[i] = s / g[i * r + i]!;
  }
  return y;
}

/**
 * Debiasing (Mazumder et al. 2010, §post-processing): keep the subspaces, re-fit the singular values
 * by least squares on the observed entries, min Σ_Ω (x_ij − Σ_k d_k u_ik v_jk)² over d ≥ 0 (a
 * coordinate whose solution is negative is dropped and the rest re-solved).
 */
function debiasValues(p: Problem, u: readonly Float64Array[], v: readonly Float64Array[]): number[] {
  const r = u.length;
  const g = new Float64Array(r * r);
  const h = new Float64Array(r);
  const feat = new Float64Array(r);
  for (let i = 0; i < p.m; i++) {
    for (let j = 0; j < p.n; j++) {
      if (!p.mask[i * p.n + j]) continue;
      for (let k = 0; k < r; k++) feat[k] = u[k]![i]! * v[k]![j]!;
      const x = p.x[i * p.n + j]!;
      for (let k = 0; k < r; k++) {
        h[k]! += feat[k]! * x;
        for (let l = 0; l < r; l++) g[k * r + l]! += feat[k]! * feat[l]!;
      }
    }
  }
  let active = Array.from({ length: r }, (_, k) => k);
  for (;;) {
    const a = active.length;
    const sub = new Float64Array(a * a);
    active.forEach((k, ka) => active.forEach((l, la) => (sub[ka * a + la] = g[k * r + l]! + (k === l ? 1e-12 * (g[k * r + k]! || 1) : 0))));
    const d = choleskySolve(sub, Float64Array.from(active, (k) => h[k]!), a);
    const negative = d.findIndex((x) => x < 0);
    if (negative < 0) {
      const out = new Array<number>(r).fill(0);
      active.forEach((k, ka) => (out[k] = d[ka]!));
      return out;
    }
    active = active.filter((_, ka) => ka !== negative);
  }
}

/** The fit with debiased singular values (or as is). */
function debiased(p: Problem, fit: Fit, debias: boolean): Fit {
  if (!debias || fit.s.length === 0) return fit;
  const s = debiasValues(p, fit.u, fit.v);
  return { ...fit, s, z: compose(fit.u, s, fit.v, p.m, p.n) };
}

/** ½‖P_Ω(X − Z)‖²_F: the loss part of the objective. */
function observedLoss(p: Problem, z: Float64Array): number {
  let loss = 0;
  for (let c = 0; c < z.length; c++) if (p.mask[c]) loss += (p.x[c]! - z[c]!) ** 2;
  return 0.5 * loss;
}

/** SVD of the zero-filled observed matrix. */
function zeroFilledSvd(p: Problem): SvdColumns {
  const y = new Float64Array(p.m * p.n);
  for (let c = 0; c < y.length; c++) y[c] = p.mask[c] ? p.x[c]! : 0;
  return svdColumns(y, p.m, p.n);
}

/** A solver's state between λs of a path (warm start), and the fit it stands for. */
interface PathState {
  fit: Fit;
  iterations: number;
  /** als: factors A (m × r) and B (n × r), row-major. */
  a?: Float64Array;
  b?: Float64Array;
  /** svd: the orthonormal factor of the last SVD (Jacobi warm start). */
  warmV?: Float64Array[];
}

/**
 * Mazumder et al.'s SoftImpute at one λ: Z ← S_λ(P_Ω(X) + P_Ω⊥(Y)), S_λ soft-thresholding the
 * singular values (σ → max(σ − λ, 0), at most `rank` kept). Plain SoftImpute has Y = Z (a
 * proximal-gradient step of size 1); here Y = Z + β(Z − Z_prev) with Nesterov's momentum
 * (accelerated proximal gradient, as Yao & Kwok's AIS-Impute), dropped whenever the objective
 * rises (adaptive restart). Stops when ‖Z_new − Z‖_F ≤ tolerance·‖Z‖_F.
 */
function svdSolve(p: Problem, lambda: number, rank: number, maxIterations: number, tolerance: number, start: PathState | null): PathState {
  const { x, mask, m, n } = p;
  let fit: Fit = start?.fit ?? { u: [], s: [], v: [], z: new Float64Array(m * n) };
  let prev = fit.z;
  let warmV = start?.warmV;
  let f = start ? observedLoss(p, fit.z) + lambda * fit.s.reduce((a, b) => a + b, 0) : Infinity;
  let t = 1;
  const y = new Float64Array(m * n);
  let iterations = 0;
  for (let it = 0; it < maxIterations; it++) {
    const tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
    const beta = (t - 1) / tNext;
    const z = fit.z;
    // Y + P_Ω(X − Y) is X on Ω whatever the momentum.
    for (let c = 0; c < m * n; c++) y[c] = mask[c] ? x[c]! : z[c]! + beta * (z[c]! - prev[c]!);
    const d = svdColumns(y, m, n, warmV);
    warmV = m >= n ? d.v : d.u;
    const kept: number[] = [];
    for (let k = 0; k < d.s.length && kept.length < rank; k++) if (d.s[k]! > lambda) kept.push(k);
    const next: Fit = { u: kept.map((k) => d.u[k]!), s: kept.map((k) => d.s[k]! - lambda), v: kept.map((k) => d.v[k]!), z: new Float64Array(0) };
    next.z = compose(next.u, next.s, next.v, m, n);
    const fNext = observedLoss(p, next.z) + lambda * next.s.reduce((a, b) => a + b, 0);
    iterations++;
    if (fNext > f && beta > 0) {
      t = 1;
      prev = z;
      continue;
    }
    let diff = 0;
    for (let c = 0; c < m * n; c++) diff += (next.z[c]! - z[c]!) ** 2;
    const norm = dot(z, z);
    prev = z;
    fit = next;
    f = fNext;
    t = tNext;
    if (diff <= tolerance * tolerance * norm || (norm === 0 && diff === 0)) break;
  }
  return { fit, iterations, warmV };
}

/** Observed entries by row and by column: indices into the other side, and values. */
interface Observed {
  rowCols: Int32Array[];
  rowVals: Float64Array[];
  colRows: Int32Array[];
  colVals: Float64Array[];
}

function observedLists(p: Problem): Observed {
  const rows: number[][] = Array.from({ length: p.m }, () => []);
  const cols: number[][] = Array.from({ length: p.n }, () => []);
  for (let i = 0; i < p.m; i++) {
    for (let j = 0; j < p.n; j++) {
      if (!p.mask[i * p.n + j]) continue;
      rows[i]!.push(j);
      cols[j]!.push(i);
    }
  }
  return {
    rowCols: rows.map((r) => Int32Array.from(r)),
    rowVals: rows.map((r, i) => Float64Array.from(r, (j) => p.x[i * p.n + j]!)),
    colRows: cols.map((c) => Int32Array.from(c)),
    colVals: cols.map((c, j) => Float64Array.from(c, (i) => p.x[i * p.n + j]!)),
  };
}

/** Each row k of `target` (r wide) ← argmin Σ_{l observed} (val − target_k·other_l)² + λ‖target_k‖². */
function ridgeRows(target: Float64Array, other: Float64Array, index: Int32Array[], values: Float64Array[], lambda: number, r: number): void {
  const g = new Float64Array(r * r);
  const h = new Float64Array(r);
  for (let k = 0; k < index.length; k++) {
    const idx = index[k]!;
    const vals = values[k]!;
    g.fill(0);
    h.fill(0);
    for (let q = 0; q < idx.length; q++) {
      const o = idx[q]! * r;
      const val = vals[q]!;
      for (let a = 0; a < r; a++) {
        const oa = other[o + a]!;
        h[a]! += oa * val;
        for (let b = 0; b <= a; b++) g[a * r + b]! += oa * other[o + b]!;
      }
    }
    for (let a = 0; a < r; a++) {
      // (plus a relative 1e-12, so a row with fewer observations than r at λ = 0 stays solvable)
      g[a * r + a]! += lambda + 1e-12 * (1 + g[a * r + a]!);
      for (let b = 0; b < a; b++) g[b * r + a] = g[a * r + b]!;
    }
    target.set(choleskySolve(g, h, r), k * r);
  }
}

/** Modified Gram–Schmidt of the r columns of a row-major rows × r matrix: Q (columns), R (r × r). */
function thinQr(a: Float64Array, rows: number, r: number): { q: Float64Array[]; rMat: Float64Array } {
  const q = Array.from({ length: r }, (_, k) => Float64Array.from({ length: rows }, (_, i) => a[i * r + k]!));
  const rMat = new Float64Array(r * r);
  for (let k = 0; k < r; k++) {
    const qk = q[k]!;
    for (let l = 0; l < k; l++) {
      const proj = dot(q[l]!, qk);
      rMat[l * r + k] = proj;
      for (let i = 0; i < rows; i++) qk[i]! -= proj * q[l]![i]!;
    }
    const norm = Math.sqrt(dot(qk, qk));
    rMat[k * r + k] = norm;
    if (norm > 0) for (let i = 0; i < rows; i++) qk[i]! /= norm;
  }
  return { q, rMat };
}

/** The fit A·Bᵀ as u·diag(s)·vᵀ: QR of both factors, then the SVD of R_A·R_Bᵀ (r × r). */
function factorsToFit(a: Float64Array, b: Float64Array, m: number, n: number, r: number): Fit {
  const qa = thinQr(a, m, r);
  const qb = thinQr(b, n, r);
  const core = new Float64Array(r * r);
  for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) {
    let s = 0;
    for (let k = 0; k < r; k++) s += qa.rMat[i * r + k]! * qb.rMat[j * r + k]!;
    core[i * r + j] = s;
  }
  const d = svdColumns(core, r, r);
  const top = d.s[0] ?? 0;
  const u: Float64Array[] = [];
  const v: Float64Array[] = [];
  const s: number[] = [];
  for (let k = 0; k < r; k++) {
    if (!(d.s[k]! > 1e-9 * top)) continue;
    const uk = new Float64Array(m);
    const vk = new Float64Array(n);
    for (let l = 0; l < r; l++) {
      const cu = d.u[k]![l]!;
      const cv = d.v[k]![l]!;
      for (let i = 0; i < m; i++) uk[i]! += qa.q[l]![i]! * cu;
      for (let j = 0; j < n; j++) vk[j]! += qb.q[l]![j]! * cv;
    }
    u.push(uk);
    v.push(vk);
    s.push(d.s[k]!);
  }
  return { u, s, v, z: compose(u, s, v, m, n) };
}

/**
 * SoftImpute's objective by alternating least squares on the factored form: with Z = A·Bᵀ,
 * A m × r, B n × r, ‖Z‖_* = min ½(‖A‖²_F + ‖B‖²_F) over such factorisations, so
 *   min ½‖P_Ω(X − A·Bᵀ)‖²_F + (λ/2)(‖A‖²_F + ‖B‖²_F)
 * has the same minimiser as ½‖P_Ω(X − Z)‖²_F + λ‖Z‖_* over rank(Z) ≤ r (Mazumder et al. 2010 §8,
 * the maximum-margin factorisation; Hastie et al. 2015). Each half-step solves every row of A (then
 * of B) exactly: a ridge regression over that row's observed entries. Started from the warm state or
 * from the top-r SVD of the zero-filled matrix divided by the observed fraction.
 */
function alsSolve(p: Problem, lambda: number, rank: number, maxIterations: number, tolerance: number, start: PathState | null, lists: Observed, init: SvdColumns): PathState {
  const { m, n } = p;
  const r = Math.max(1, rank);
  let a = start?.a;
  let b = start?.b;
  if (!a || !b || a.length !== m * r) {
    a = new Float64Array(m * r);
    b = new Float64Array(n * r);
    const fraction = p.mask.reduce((s, x) => s + x, 0) / (m * n) || 1;
    for (let k = 0; k < Math.min(r, init.s.length); k++) {
      const scale = Math.sqrt(init.s[k]! / fraction);
      for (let i = 0; i < m; i++) a[i * r + k] = init.u[k]![i]! * scale;
      for (let j = 0; j < n; j++) b[j * r + k] = init.v[k]![j]! * scale;
    }
  } else {
    a = a.slice();
    b = b.slice();
  }
  const objective = () => alsObjective(a!, b!, lists, lambda, r);
  const scale = observedLoss(p, new Float64Array(m * n));
  let iterations = 0;
  const descend = () => {
    let f = objective();
    for (let it = 0; it < maxIterations; it++) {
      ridgeRows(a!, b!, lists.rowCols, lists.rowVals, lambda, r);
      ridgeRows(b!, a!, lists.colRows, lists.colVals, lambda, r);
      iterations++;
      const fNext = objective();
      const done = f - fNext <= tolerance * fNext || fNext <= 1e-20 * scale;
      f = fNext;
      if (done) return;
    }
  };
  descend();
  // A component that has shrunk to zero (at a larger λ of the path, or from the start) is a saddle
  // ALS never leaves. Optimality asks ‖(I − UUᵀ)·P_Ω(X − Z)·(I − VVᵀ)‖ ≤ λ; while the fit has
  // room under the rank cap and that residual's top singular value σ exceeds λ, add its singular
  // pair with weight σ − λ (the step SoftImpute's thresholding would take) and descend again.
  let fit = factorsToFit(a, b, m, n, r);
  while (fit.s.length < r) {
    const top = complementTop(p, fit);
    if (!(top.sigma > lambda * (1 + 1e-4))) break;
    a.fill(0);
    b.fill(0);
    const put = (k: number, u: Float64Array, v: Float64Array, weight: number) => {
      const w = Math.sqrt(weight);
      for (let i = 0; i < m; i++) a![i * r + k] = u[i]! * w;
      for (let j = 0; j < n; j++) b![j * r + k] = v[j]! * w;
    };
    fit.s.forEach((sk, k) => put(k, fit.u[k]!, fit.v[k]!, sk));
    put(fit.s.length, top.u, top.v, top.sigma - lambda);
    const before = fit.s.length;
    descend();
    fit = factorsToFit(a, b, m, n, r);
    if (fit.s.length <= before) break;
  }
  return { fit, iterations, a, b };
}

/** ½ Σ_Ω (x_ij − a_i·b_j)² + (λ/2)(‖A‖² + ‖B‖²). */
function alsObjective(a: Float64Array, b: Float64Array, lists: Observed, lambda: number, r: number): number {
  let loss = 0;
  for (let i = 0; i < lists.rowCols.length; i++) {
    const idx = lists.rowCols[i]!;
    const vals = lists.rowVals[i]!;
    for (let q = 0; q < idx.length; q++) {
      const o = idx[q]! * r;
      let z = 0;
      for (let k = 0; k < r; k++) z += a[i * r + k]! * b[o + k]!;
      loss += (vals[q]! - z) ** 2;
    }
  }
  return 0.5 * loss + 0.5 * lambda * (dot(a, a) + dot(b, b));
}

/** Top singular pair of (I − UUᵀ)·P_Ω(X − Z)·(I − VVᵀ) for the fit's U, V, Z. */
function complementTop(p: Problem, fit: Fit): { sigma: number; u: Float64Array; v: Float64Array } {
  const { m, n } = p;
  const g = new Float64Array(m * n);
  for (let c = 0; c < m * n; c++) if (p.mask[c]) g[c] = p.x[c]! - fit.z[c]!;
  for (const u of fit.u) {
    // g ← (I − u uᵀ) g
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < m; i++) s += u[i]! * g[i * n + j]!;
      for (let i = 0; i < m; i++) g[i * n + j]! -= u[i]! * s;
    }
  }
  for (const v of fit.v) {
    // g ← g (I − v vᵀ)
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += g[i * n + j]! * v[j]!;
      for (let j = 0; j < n; j++) g[i * n + j]! -= s * v[j]!;
    }
  }
  const d = svdColumns(g, m, n);
  return { sigma: d.s[0] ?? 0, u: d.u[0] ?? new Float64Array(m), v: d.v[0] ?? new Float64Array(n) };
}

type SolveOptions = Required<Pick<SoftImputeOptions, 'solver' | 'maxIterations' | 'tolerance' | 'debias'>>;

/** A λ path with warm starts, one λ per call: the (debiased) fit at that λ. */
interface PathStepper {
  (lambda: number): Fit;
  /** Iterations so far. */
  iterations(): number;
}

function pathStepper(p: Problem, rank: number, opts: SolveOptions): PathStepper {
  const lists = opts.solver === 'als' ? observedLists(p) : null;
  const init = opts.solver === 'als' ? zeroFilledSvd(p) : null;
  let state: PathState | null = null;
  let iterations = 0;
  const step = (lambda: number) => {
    state = lists && init ? alsSolve(p, lambda, rank, opts.maxIterations, opts.tolerance, state, lists, init) : svdSolve(p, lambda, rank, opts.maxIterations, opts.tolerance, state);
    iterations += state.iterations;
    return debiased(p, state.fit, opts.debias);
  };
  return Object.assign(step, { iterations: () => iterations });
}

/**
 * Validation folds: observed cells in a seeded order, cell k going to fold k mod FOLDS, except a
 * cell whose removal would leave its row or its column with fewer than KEEP observations in its
 * fold's training part (it stays in training for every fold).
 */
function validationFolds(p: Problem, seed: number): number[][] {
  const cells: number[] = [];
  for (let c = 0; c < p.mask.length; c++) if (p.mask[c]) cells.push(c);
  const order = permutation(cells.length, new Rng(mixSeed(seed, 0x5f1)));
  const folds: number[][] = Array.from({ length: FOLDS }, () => []);
  const rowLeft = Array.from({ length: FOLDS }, () => new Int32Array(p.m));
  const colLeft = Array.from({ length: FOLDS }, () => new Int32Array(p.n));
  for (const c of cells) {
    for (let f = 0; f < FOLDS; f++) {
      rowLeft[f]![Math.floor(c / p.n)]!++;
      colLeft[f]![c % p.n]!++;
    }
  }
  let k = 0;
  for (const idx of order) {
    const c = cells[idx]!;
    const i = Math.floor(c / p.n);
    const j = c % p.n;
    const f = k % FOLDS;
    if (rowLeft[f]![i]! > KEEP && colLeft[f]![j]! > KEEP) {
      folds[f]!.push(c);
      rowLeft[f]![i]!--;
      colLeft[f]![j]!--;
      k++;
    }
  }
  return folds;
}

/** λ path from λ_max down to `until`: the grid's values above it, then `until` (warm starts). */
function lambdaPath(max: number, until: number): number[] {
  return [...LAMBDA_GRID.map((f) => f * max).filter((l) => l > until * (1 + 1e-12)), until];
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface ModelChoice {
  lambda: number;
  rank: number;
}

/**
 * λ and rank by validation: for each rank r = 1, 2, …, each fold (validationFolds) and each λ of
 * the grid (one warm-started path per rank and fold, the folds in step), the held-out mean squared
 * error of the debiased rank-r fit; the median over the folds scores (r, λ), the smallest score
 * wins (ties: the smaller rank, then the larger λ). A rank's path stops after PATIENCE λs in a row
 * that did not improve on its best; the ranks stop two past the best so far. A given `rank` or
 * `lambda` is not searched.
 */
function chooseModel(p: Problem, options: SoftImputeOptions, opts: SolveOptions, lambdaMaxValue: number): ModelChoice {
  const top = Math.min(p.m, p.n);
  const ranks = options.rank !== undefined ? [Math.max(1, Math.min(options.rank, top))] : Array.from({ length: Math.min(MAX_RANK, top) }, (_, k) => k + 1);
  const lambdas = options.lambda !== undefined ? [options.lambda] : LAMBDA_GRID.map((f) => f * lambdaMaxValue);
  const fallback = { lambda: lambdas[Math.min(2, lambdas.length - 1)]!, rank: ranks[0]! };
  if (ranks.length === 1 && lambdas.length === 1) return fallback;
  const folds = validationFolds(p, options.seed ?? 0).filter((f) => f.length > 0);
  if (lambdaMaxValue === 0 || folds.length === 0) return fallback;
  const trains = folds.map((held) => {
    const mask = p.mask.slice();
    for (const c of held) mask[c] = 0;
    return { ...p, mask };
  });
  let best: (ModelChoice & { sse: number }) | null = null;
  for (const rank of ranks) {
    const steppers = trains.map((train) => pathStepper(train, rank, opts));
    let rankBest = Infinity;
    let worse = 0;
    for (const lambda of lambdas) {
      const perFold = folds.map((held, f) => {
        const fit = steppers[f]!(lambda);
        let e = 0;
        for (const c of held) e += (fit.z[c]! - p.x[c]!) ** 2;
        return e / held.length;
      });
      const sse = median(perFold);
      if (!best || sse < best.sse * (1 - 1e-9)) best = { lambda, rank, sse };
      if (sse < rankBest * (1 - 1e-9)) {
        rankBest = sse;
        worse = 0;
      } else if (++worse >= PATIENCE) break;
    }
    if (best && rank >= best.rank + 2) break;
  }
  return best ? { lambda: best.lambda, rank: best.rank } : fallback;
}

/**
 * Complete a partly observed matrix (null = missing) by SoftImpute (Mazumder, Hastie, Tibshirani
 * 2010): the minimiser of ½‖P_Ω(X − Z)‖²_F + λ‖Z‖_* subject to rank(Z) ≤ r, found along a
 * decreasing λ path with warm starts; then (default) the kept singular values are re-fit by least
 * squares on the observed entries, which removes the nuclear norm's shrinkage of the values while
 * keeping the subspaces it chose.
 *
 * Unless given, λ and r are chosen together by 5-fold validation over the observed entries (a fold
 * takes no cell from a row or column that would keep fewer than 2 observations): r = 1…min(8, m, n),
 * λ = λ_max·10^(−k/2), k = 1…12, scored by the median over the folds of the held-out mean squared
 * error of the debiased fit (the median, because a fold can leave its training cells not
 * identifiable, whose wild predictions would otherwise decide alone); see `chooseModel`.
 *
 * A fully observed matrix is returned as is (its SVD gives the factors). Rows or columns without
 * any observation get the fit's value there, 0: callers wanting estimates everywhere observe every
 * row and column at least once (`planCells` does).
 */
export function softImpute(observed: readonly (readonly (number | null)[])[], options: SoftImputeOptions = {}): SoftImputeResult {
  const m = observed.length;
  const n = m === 0 ? 0 : observed[0]!.length;
  const x = new Float64Array(m * n);
  const mask = new Uint8Array(m * n);
  observed.forEach((row, i) => {
    if (row.length !== n) throw new SweepPlanError(`matrix row ${i} has ${row.length} entries, row 0 has ${n}`);
    row.forEach((value, j) => {
      if (value === null) return;
      if (!Number.isFinite(value)) throw new SweepPlanError(`entry (${i}, ${j}) is ${value}, not a finite number`);
      x[i * n + j] = value;
      mask[i * n + j] = 1;
    });
  });
  const p: Problem = { x, mask, m, n };
  const opts = {
    solver: options.solver ?? 'als',
    maxIterations: options.maxIterations ?? 500,
    tolerance: options.tolerance ?? 1e-5,
    debias: options.debias ?? true,
  } as const;

  if (m * n === 0 || (mask.every((b) => b === 1) && options.lambda === undefined && options.rank === undefined)) {
    // Nothing to complete: the matrix itself (its SVD for the factors).
    const d = m * n === 0 ? { u: [], s: new Float64Array(0), v: [] } : svdColumns(x, m, n);
    const kept = Array.from(d.s).flatMap((s, k) => (s > 1e-12 * (d.s[0] ?? 0) ? [k] : []));
    const fit: Fit = { u: kept.map((k) => d.u[k]!), s: kept.map((k) => d.s[k]!), v: kept.map((k) => d.v[k]!), z: x };
    return result(p, fit, 0, 0);
  }

  const max = zeroFilledSvd(p).s[0] ?? 0;
  const { lambda, rank } = chooseModel(p, options, opts, max);
  const step = pathStepper(p, rank, opts);
  let fit: Fit | null = null;
  for (const l of lambdaPath(max, lambda)) fit = step(l);
  return result(p, fit!, lambda, step.iterations());
}

function result(p: Problem, fit: Fit, lambda: number, iterations: number): SoftImputeResult {
  const { m, n } = p;
  const order = fit.s.flatMap((s, k) => (s > 0 ? [k] : [])).sort((a, b) => fit.s[b]! - fit.s[a]!);
  const rows = (a: Float64Array) => Array.from({ length: m }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)));
  const completed = new Float64Array(m * n);
  for (let c = 0; c < completed.length; c++) completed[c] = p.mask[c] ? p.x[c]! : fit.z[c]!;
  const root = order.map((k) => Math.sqrt(fit.s[k]!));
  return {
    completed: rows(completed),
    fit: rows(fit.z),
    lambda,
    rank: order.length,
    singularValues: order.map((k) => fit.s[k]!),
    rowFactors: Array.from({ length: m }, (_, i) => order.map((k, r) => fit.u[k]![i]! * root[r]!)),
    colFactors: Array.from({ length: n }, (_, j) => order.map((k, r) => fit.v[k]![j]! * root[r]!)),
    iterations,
  };
}

// ---------------------------------------------------------------------------------------------
// Which cells to train
// ---------------------------------------------------------------------------------------------

/** One cell of the grid: a configuration trained on a task. */
export interface Cell {
  config: string;
  task: string;
}

/** A trained cell and its error (e.g. test error in [0, 1]; any finite number). */
export interface ObservedCell extends Cell {
  error: number;
}

export type PlanMethod = 'random' | 'd-optimal';

export interface PlanRequest {
  /** Row ids (distinct). */
  configs: readonly string[];
  /** Column ids (distinct). */
  tasks: readonly string[];
  /** Fraction of the configs × tasks cells to train, in (0, 1]. */
  budget: number;
  method: PlanMethod;
  seed: number;
  /** Every cell trained so far (this plan's earlier batches, and any other). */
  observed: readonly ObservedCell[];
  /** d-optimal: rounds in which the budget is spent, the first one included (default 3, ≥ 2). */
  rounds?: number;
  /** d-optimal: options of the completion fitted between rounds (default: softImpute's). */
  completion?: SoftImputeOptions;
}

export interface CellPlan {
  /** The cells to train next: none observed, no duplicates; empty when the budget is spent. */
  cells: Cell[];
  /** Cells the whole budget allows: floor(budget · configs · tasks). */
  budgetCells: number;
  /** Distinct cells observed before this batch. */
  observedCells: number;
}

/** Cells a budget allows: floor(budget · m · n) (a hair of tolerance for 0.3 · 10 · 10 = 29.999…). */
export function budgetCells(configs: number, tasks: number, budget: number): number {
  return Math.floor(budget * configs * tasks + 1e-9);
}

/** Smallest budget (fraction) that lets every config and every task be observed once: max(m, n)/(m·n). */
export function minimumBudget(configs: number, tasks: number): number {
  return Math.max(configs, tasks) / (configs * tasks);
}

/** Grid with ids → indices, observations checked and averaged per cell. */
interface Grid {
  m: number;
  n: number;
  /** Error per observed cell (index i·n + j); duplicates averaged. */
  values: Map<number, number>;
}

function gridOf(configs: readonly string[], tasks: readonly string[], observed: readonly ObservedCell[]): Grid {
  const configIndex = indexOf(configs, 'config');
  const taskIndex = indexOf(tasks, 'task');
  const n = tasks.length;
  const sums = new Map<number, { sum: number; count: number }>();
  for (const o of observed) {
    const i = configIndex.get(o.config);
    const j = taskIndex.get(o.task);
    if (i === undefined) throw new SweepPlanError(`observed config "${o.config}" is not in the grid`);
    if (j === undefined) throw new SweepPlanError(`observed task "${o.task}" is not in the grid`);
    if (!Number.isFinite(o.error)) throw new SweepPlanError(`observed error of ${o.config} on ${o.task} is ${o.error}, not a finite number`);
    const c = i * n + j;
    const acc = sums.get(c);
    if (acc) {
      acc.sum += o.error;
      acc.count++;
    } else sums.set(c, { sum: o.error, count: 1 });
  }
  return { m: configs.length, n, values: new Map([...sums].map(([c, a]) => [c, a.sum / a.count])) };
}

function indexOf(ids: readonly string[], what: string): Map<string, number> {
  const index = new Map<string, number>();
  ids.forEach((id, k) => {
    if (index.has(id)) throw new SweepPlanError(`${what} "${id}" appears twice`);
    index.set(id, k);
  });
  return index;
}

/**
 * The configs × tasks error matrix of the observations (null where not trained; a cell observed
 * several times gets the mean), in the order of `configs` and `tasks`.
 */
export function errorMatrix(configs: readonly string[], tasks: readonly string[], observed: readonly ObservedCell[]): (number | null)[][] {
  const grid = gridOf(configs, tasks, observed);
  return Array.from({ length: grid.m }, (_, i) => Array.from({ length: grid.n }, (_, j) => grid.values.get(i * grid.n + j) ?? null));
}

/**
 * The balanced spread set: every config and every task once. Configs and tasks are put in seeded
 * orders and cell k = (config k mod m, task k mod n) for k < max(m, n): each task gets ⌊m/n⌋ or
 * ⌈m/n⌉ configs (or the other way round when there are more tasks), and no cell repeats.
 */
function spreadCells(m: number, n: number, seed: number): number[] {
  const rows = permutation(m, new Rng(mixSeed(seed, 0x5ead, 1)));
  const cols = permutation(n, new Rng(mixSeed(seed, 0x5ead, 2)));
  return Array.from({ length: Math.max(m, n) }, (_, k) => rows[k % m]! * n + cols[k % n]!);
}

/**
 * Plan the next batch of cells to train. Pure: the batch is a function of the request only.
 *
 * Contract (the sweep calls it in rounds):
 * 1. call with `observed` = every cell trained so far (none at first);
 * 2. train every returned cell, add their errors to `observed`;
 * 3. repeat until `cells` is empty: the budget, floor(budget · configs · tasks) cells in all, is spent.
 * Cells already observed are never returned; observations of cells the plan did not ask for count
 * against the budget. Every batch starts by covering configs and tasks that have no observation
 * yet, so when the plan completes every config and every task has at least one observed cell.
 *
 * `random`: one batch — the spread set (every config and task once, tasks balanced), then cells
 * drawn uniformly from the rest until the budget is reached.
 *
 * `d-optimal` (`rounds` batches, default 3): the first batch is the spread set; each later batch
 * (an equal share of the rest of the budget) fits `softImpute` to the observations and takes
 * design factors from the completed matrix's SVD, one dimension more than the fit's rank r (the
 * fit's r directions, plus the strongest one it left out: a hedge against a rank underestimated
 * from few cells): configs' u_i and tasks' v_j, balanced (`u·√s`, `v·√s`). Then it adds cells
 * greedily, each time the one that most increases
 *   Σ_i log det A_i + Σ_j log det B_j,   A_i = εI + Σ_{j observed in row i} v_j v_jᵀ,
 *                                        B_j = εI + Σ_{i observed in column j} u_i u_iᵀ,
 * i.e. gain(i, j) = log(1 + v_jᵀ A_i⁻¹ v_j) + log(1 + u_iᵀ B_j⁻¹ u_i) (matrix determinant lemma),
 * with A_i⁻¹ and B_j⁻¹ updated by Sherman–Morrison after each pick, so cells of one batch need no
 * results from each other. B_j is PEPPP's design (a task's column observes the configs whose
 * embeddings tell most about it); A_i is the same on the config side, which a sweep needs as its
 * configs, unlike PEPPP's, have no meta-trained embeddings. ε = 0.01 × the mean squared norm of the
 * other side's factors. Ties are broken by a seeded hash of the cell.
 *
 * Throws SweepPlanError when the budget cannot observe every config and every task once
 * (budget < max(m, n)/(m·n), see `minimumBudget`), or for unknown ids and non-finite errors.
 */
export function planCells(request: PlanRequest): CellPlan {
  const { configs, tasks, budget, method, seed } = request;
  const m = configs.length;
  const n = tasks.length;
  if (m === 0 || n === 0) throw new SweepPlanError('the grid needs at least one config and one task');
  if (!(budget > 0 && budget <= 1)) throw new SweepPlanError(`budget ${budget} is not a fraction in (0, 1]`);
  const total = budgetCells(m, n, budget);
  if (total < Math.max(m, n)) {
    throw new SweepPlanError(
      `budget ${budget} allows ${total} of ${m * n} cells, fewer than the ${Math.max(m, n)} it takes to observe every config and every task once (budget ≥ ${minimumBudget(m, n).toFixed(4)})`,
    );
  }
  const rounds = request.rounds ?? 3;
  if (!Number.isInteger(rounds) || rounds < 2) throw new SweepPlanError(`rounds ${rounds} is not an integer ≥ 2`);
  const grid = gridOf(configs, tasks, request.observed);
  const observedCells = grid.values.size;
  const left = total - observedCells;
  const done = (cells: number[]): CellPlan => ({
    cells: cells.map((c) => ({ config: configs[Math.floor(c / n)]!, task: tasks[c % n]! })),
    budgetCells: total,
    observedCells,
  });
  if (left <= 0) return done([]);
  const taken = new Uint8Array(m * n);
  for (const c of grid.values.keys()) taken[c] = 1;

  if (method === 'random') return done(randomCells(grid, taken, left, seed));
  if (method !== 'd-optimal') throw new SweepPlanError(`unknown method "${String(method)}"`);
  // Round 1: the spread set (coverage(), as nothing is observed); then equal shares of the rest.
  // (never smaller than what covering the configs and tasks without any observation takes)
  const uncovered = uncoveredCount(grid);
  const batch = observedCells === 0 ? Math.max(m, n) : Math.min(left, Math.max(1, uncovered, Math.ceil((total - Math.max(m, n)) / (rounds - 1))));
  if (observedCells === 0) return done(coverage(grid, taken, batch, seed, () => 0, () => 0));
  return done(dOptimalCells(grid, taken, batch, seed, request.completion));
}

/** Configs plus tasks without any observation. */
function uncoveredCount(grid: Grid): number {
  const rows = new Set<number>();
  const cols = new Set<number>();
  for (const c of grid.values.keys()) {
    rows.add(Math.floor(c / grid.n));
    cols.add(c % grid.n);
  }
  return grid.m - rows.size + (grid.n - cols.size);
}

/**
 * Coverage: with nothing observed, the spread set; else a cell for each row, then each column, that
 * has no observation (the cell chosen by `pickInRow` / `pickInColumn`). Marks them taken.
 */
function coverage(
  grid: Grid,
  taken: Uint8Array,
  limit: number,
  seed: number,
  pickInRow: (i: number) => number,
  pickInColumn: (j: number) => number,
  onAdd: (c: number) => void = () => {},
): number[] {
  const { m, n } = grid;
  const rowSeen = new Uint8Array(m);
  const colSeen = new Uint8Array(n);
  for (const c of grid.values.keys()) {
    rowSeen[Math.floor(c / n)] = 1;
    colSeen[c % n] = 1;
  }
  const out: number[] = [];
  const add = (c: number) => {
    taken[c] = 1;
    rowSeen[Math.floor(c / n)] = 1;
    colSeen[c % n] = 1;
    out.push(c);
    onAdd(c);
  };
  if (grid.values.size === 0) {
    for (const c of spreadCells(m, n, seed)) if (out.length < limit) add(c);
    return out;
  }
  for (const i of permutation(m, new Rng(mixSeed(seed, 0xc0, 1)))) if (!rowSeen[i] && out.length < limit) add(i * n + pickInRow(i));
  for (const j of permutation(n, new Rng(mixSeed(seed, 0xc0, 2)))) if (!colSeen[j] && out.length < limit) add(pickInColumn(j) * n + j);
  return out;
}

/** Coverage first, then cells drawn uniformly from the untaken ones. */
function randomCells(grid: Grid, taken: Uint8Array, count: number, seed: number): number[] {
  const { m, n } = grid;
  const rng = new Rng(mixSeed(seed, 0x7a4d));
  const freeIn = (length: number, cell: (k: number) => number) => {
    const free = Array.from({ length }, (_, k) => cell(k)).filter((c) => !taken[c]);
    return free[rng.int(free.length)]!;
  };
  const out = coverage(
    grid,
    taken,
    count,
    seed,
    (i) => freeIn(n, (j) => i * n + j) % n,
    (j) => Math.floor(freeIn(m, (i) => i * n + j) / n),
  );
  const rest: number[] = [];
  for (let c = 0; c < m * n; c++) if (!taken[c]) rest.push(c);
  const order = permutation(rest.length, rng);
  for (let k = 0; out.length < count && k < rest.length; k++) out.push(rest[order[k]!]!);
  return out;
}

/** Relative ridge of the information matrices. */
const DESIGN_RIDGE = 0.01;

/** r × r symmetric matrix as a flat array; inverse of εI + Σ x xᵀ kept by Sherman–Morrison. */
class InverseInformation {
  readonly inv: Float64Array;
  constructor(
    readonly r: number,
    ridge: number,
  ) {
    this.inv = new Float64Array(r * r);
    for (let k = 0; k < r; k++) this.inv[k * r + k] = 1 / ridge;
  }
  /** xᵀ A⁻¹ x. */
  quad(x: Float64Array): number {
    const { r, inv } = this;
    let q = 0;
    for (let a = 0; a < r; a++) {
      let row = 0;
      for (let b = 0; b < r; b++) row += inv[a * r + b]! * x[b]!;
      q += x[a]! * row;
    }
    return q;
  }
  /** A ← A + x xᵀ: A⁻¹ ← A⁻¹ − (A⁻¹x)(A⁻¹x)ᵀ / (1 + xᵀA⁻¹x). */
  add(x: Float64Array): void {
    const { r, inv } = this;
    const ax = new Float64Array(r);
    for (let a = 0; a < r; a++) {
      let s = 0;
      for (let b = 0; b < r; b++) s += inv[a * r + b]! * x[b]!;
      ax[a] = s;
    }
    const denom = 1 + dot(ax, x);
    for (let a = 0; a < r; a++) for (let b = 0; b < r; b++) inv[a * r + b]! -= (ax[a]! * ax[b]!) / denom;
  }
}

/** Greedy D-optimal cells (see planCells), coverage first. */
function dOptimalCells(grid: Grid, taken: Uint8Array, count: number, seed: number, completion: SoftImputeOptions | undefined): number[] {
  const { m, n } = grid;
  const matrix: (number | null)[][] = Array.from({ length: m }, (_, i) => Array.from({ length: n }, (_, j) => grid.values.get(i * n + j) ?? null));
  const fit = softImpute(matrix, { seed, ...completion });
  // Design factors: one dimension more than the fit has, from the SVD of the completed matrix (its
  // top `fit.rank` directions are the fit's; the next one is the strongest the fit left out).
  const r = Math.min(m, n, fit.rank + 1);
  const d = svd(fit.completed);
  const flat = !(d.s[0]! > 0);
  const u = d.u.map((row) => Float64Array.from({ length: r }, (_, k) => (flat ? 1 : row[k]! * Math.sqrt(d.s[k]!))));
  const v = d.v.map((row) => Float64Array.from({ length: r }, (_, k) => (flat ? 1 : row[k]! * Math.sqrt(d.s[k]!))));
  const meanSq = (f: Float64Array[]) => f.reduce((s, x) => s + dot(x, x), 0) / Math.max(1, f.length) || 1;
  const rowInfo = u.map(() => new InverseInformation(r, DESIGN_RIDGE * meanSq(v)));
  const colInfo = v.map(() => new InverseInformation(r, DESIGN_RIDGE * meanSq(u)));
  for (const c of grid.values.keys()) {
    const i = Math.floor(c / n);
    const j = c % n;
    rowInfo[i]!.add(v[j]!);
    colInfo[j]!.add(u[i]!);
  }
  const gain = (i: number, j: number) => Math.log1p(rowInfo[i]!.quad(v[j]!)) + Math.log1p(colInfo[j]!.quad(u[i]!));
  const tie = (c: number) => hash32(mixSeed(seed, 0xd0, c)) / 4294967296;
  // Best untaken cell of a row / a column by gain (ties by hash).
  const better = (c: number, g: number, best: number, bestGain: number) => best < 0 || g > bestGain * (1 + 1e-12) || (g >= bestGain * (1 - 1e-12) && tie(c) < tie(best));
  const bestIn = (cells: number[]) => {
    let best = -1;
    let bestGain = -Infinity;
    for (const c of cells) {
      if (taken[c]) continue;
      const g = gain(Math.floor(c / n), c % n);
      if (better(c, g, best, bestGain)) {
        best = c;
        bestGain = g;
      }
    }
    return best;
  };
  const record = (c: number) => {
    const i = Math.floor(c / n);
    const j = c % n;
    rowInfo[i]!.add(v[j]!);
    colInfo[j]!.add(u[i]!);
  };
  const out = coverage(
    grid,
    taken,
    count,
    seed,
    (i) => bestIn(Array.from({ length: n }, (_, j) => i * n + j)) % n,
    (j) => Math.floor(bestIn(Array.from({ length: m }, (_, i) => i * n + j)) / n),
    record,
  );
  // Gains only change in the row and the column of a pick: keep them in a table.
  const gains = new Float64Array(m * n);
  for (let c = 0; c < m * n; c++) gains[c] = taken[c] ? -Infinity : gain(Math.floor(c / n), c % n);
  while (out.length < count) {
    let best = -1;
    let bestGain = -Infinity;
    for (let c = 0; c < m * n; c++) if (!taken[c] && better(c, gains[c]!, best, bestGain)) {
      best = c;
      bestGain = gains[c]!;
    }
    if (best < 0) break;
    taken[best] = 1;
    out.push(best);
    record(best);
    const i = Math.floor(best / n);
    const j = best % n;
    for (let jj = 0; jj < n; jj++) if (!taken[i * n + jj]) gains[i * n + jj] = gain(i, jj);
    for (let ii = 0; ii < m; ii++) if (!taken[ii * n + j]) gains[ii * n + j] = gain(ii, j);
  }
  return out;
}
