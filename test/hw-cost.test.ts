import { describe, expect, it } from 'vitest';
import { ProfileError } from '../src/errors.js';
import {
  type HardwareProfile,
  CostTally,
  compileProfile,
  bitHistogram,
  createCostModel,
  estimateSchedule,
  formatTiers,
  gemmCost,
  kindFallbacks,
  loadProfile,
  macCost,
  placeOperands,
  preferFormat,
  requireOperandBits,
  scheduleHistogram,
  stepBreakdown,
  storedBits,
  tallyBitTuples,
  tallyRun,
} from '../src/hw/index.js';
import { getModelLayers } from '../src/models/paper.js';
import { linearShape } from '../src/models/shapes.js';
import { makeSchedule } from '../src/schedule/index.js';

const close = (actual: number, expected: number, rel = 1e-12) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * rel);

const profiles = new Map<string, HardwareProfile>();
function profile(name: string): HardwareProfile {
  if (!profiles.has(name)) profiles.set(name, loadProfile(name));
  return profiles.get(name)!;
}

/** [ba, bw, energy per MAC (J), MACs/s, passes] computed by hand from each profile's sources. */
const MAC_CASES: Record<string, [number, number, number, number, number][]> = {
  'bit-fusion-45nm': [
    [8, 8, 0.46e-12, 512 * 500e6, 1],
    [4, 8, 0.46e-12 / 2, 512 * 2 * 500e6, 1],
    [2, 2, 0.46e-12 / 16, 512 * 16 * 500e6, 1],
    [3, 5, 0.46e-12 / 2, 512 * 2 * 500e6, 1], // 3 → 4, 5 → 8
    [1, 1, 0.46e-12 / 16, 512 * 16 * 500e6, 1], // 1 → 2
    [16, 8, 2 * 0.46e-12, (512 * 500e6) / 2, 2], // two 8-bit slices
    [12, 8, 2 * 0.46e-12, (512 * 500e6) / 2, 2], // two 6-bit slices, each run as 8
    [32, 32, 16 * 0.46e-12, (512 * 500e6) / 16, 16],
  ],
  'bit-serial-stripes': [
    [16, 16, 0.9e-12, 4096 * 980e6, 1],
    [5, 16, (0.9e-12 * 5) / 16, (65536 / 5) * 980e6, 1],
    [8, 3, (0.9e-12 * 8) / 16, (65536 / 8) * 980e6, 1], // weight bits do not matter
    [32, 16, 2 * 0.9e-12, (4096 * 980e6) / 2, 2],
  ],
  'loom-bit-serial': [
    [16, 16, 0.9e-12, 4096 * 1e9, 1],
    [4, 8, (0.9e-12 * 32) / 256, ((4096 * 256) / 32) * 1e9, 1],
    [1, 1, 0.9e-12 / 256, 4096 * 256 * 1e9, 1],
  ],
  'int8-systolic': [
    [8, 8, 12 / (65536 * 700e6), 65536 * 700e6, 1],
    [3, 3, 12 / (65536 * 700e6), 65536 * 700e6, 1], // no gain below 8 bits
    [16, 8, (2 * 12) / (65536 * 700e6), (65536 * 700e6) / 2, 2], // TPU: 8×16 at half speed
    [16, 16, (4 * 12) / (65536 * 700e6), (65536 * 700e6) / 4, 4],
  ],
  'gpu-a100': [
    [4, 4, 340 / 624e12, 624e12, 1],
    [4, 8, 340 / 312e12, 312e12, 1], // shared format: int8
    [8, 8, 340 / 312e12, 312e12, 1],
    [9, 3, 340 / 156e12, 156e12, 1], // fp16
    [32, 32, 340 / 78e12, 78e12, 1], // tf32
  ],
  'gpu-h100': [
    [2, 2, 610 / 989.5e12, 989.5e12, 1], // no 4-bit format: fp8
    [8, 8, 610 / 989.5e12, 989.5e12, 1],
    [16, 8, 610 / 494.7e12, 494.7e12, 1],
    [32, 32, 610 / 247.4e12, 247.4e12, 1],
  ],
  'horowitz-45nm': [
    [8, 8, 0.26e-12, 1024e9, 1], // int8 mult 0.2 + 16-bit add 0.06
    [32, 32, 3.44e-12, 1024e9, 1], // 3.2 + 0.24 (table: int32 mult 3.1 + add 0.1)
    [3, 5, ((0.2 * 15) / 64 + (0.03 * 8) / 8) * 1e-12, 1024e9, 1],
  ],
};

describe('energy and rate per MAC, by hand, for every shipped profile', () => {
  for (const [name, cases] of Object.entries(MAC_CASES)) {
    it.each(cases)(`${name}: ba=%i bw=%i`, (ba, bw, energyJ, macsPerS, passes) => {
      const c = macCost(profile(name), ba, bw);
      close(c.energyJ, energyJ, 1e-9);
      close(1 / c.timeS, macsPerS, 1e-9);
      expect(c.placement.passes).toBe(passes);
    });
  }

  it('aboveMax "reject" refuses too-wide MAC operands, naming the field and the bit-width', () => {
    const json = structuredClone(profile('int8-systolic').json) as Record<string, any>;
    json.compute.aboveMax = 'reject';
    const strict = compileProfile(json, 'strict.json');
    expect(macCost(strict, 8, 8).placement.passes).toBe(1);
    expect(() => macCost(strict, 16, 8)).toThrow(ProfileError);
    expect(() => macCost(strict, 16, 8)).toThrow(
      'strict.json: $.compute.aboveMax: "reject" refuses MAC operands wider than the widest format int8 (8 bits), and a MAC operand asks for 16 bits; ' +
        'keep --schedule, --baseline and --grad-bits at most 8 bits, or set aboveMax to "multipass"',
    );
    expect(() => stepBreakdown(strict, [linearShape('fc1', 64, 128)], 16, { bitsWeights: 8, bitsActivations: 12, bitsGrad: 8 })).toThrow(
      'the first operand of the forward GEMM of layer fc1 asks for 12 bits',
    );
  });

  it('aboveMax "reject" still stores the fp32 weight gradient: schedules within the formats cost as with multipass', () => {
    const json = structuredClone(profile('int8-systolic').json) as Record<string, any>;
    json.compute.aboveMax = 'reject';
    const strict = compileProfile(json, 'strict.json');
    expect(storedBits(strict, 32)).toBe(32);
    const layers = getModelLayers('resnet-38');
    const e = (p: HardwareProfile) => estimateSchedule(createCostModel(p, layers, 128), { schedule: 'cpt:3-8', baseline: 'static:8', iterations: 1000, bitsGrad: 8 });
    const a = e(strict);
    const b = e(profile('int8-systolic'));
    expect(a.run.energyJ).toBe(b.run.energyJ);
    expect(a.baseline.latencyS).toBe(b.baseline.latencyS);
    expect(a.run.energyJ).toBeGreaterThan(0);
  });

  it('requireOperandBits refuses, before any cost, the first precision a "reject" profile cannot run', () => {
    const json = structuredClone(profile('int8-systolic').json) as Record<string, any>;
    json.compute.aboveMax = 'reject';
    const strict = compileProfile(json, 'strict.json');
    const uses = (schedule: number, baseline: number, grad: number) => [
      { what: `--schedule cpt:3-${schedule}`, bits: schedule },
      { what: `the baseline static:${baseline}`, bits: baseline },
      { what: `--grad-bits ${grad}`, bits: grad },
    ];
    expect(() => requireOperandBits(strict, uses(8, 8, 8))).not.toThrow();
    expect(() => requireOperandBits(strict, uses(8, 32, 8))).toThrow(/^strict\.json: \$\.compute\.aboveMax: "reject" refuses .* and the baseline static:32 asks for 32 bits; /);
    expect(() => requireOperandBits(strict, uses(8, 8, 16))).toThrow('and --grad-bits 16 asks for 16 bits');
    // multipass profiles run every bit-width
    expect(() => requireOperandBits(profile('int8-systolic'), uses(32, 32, 32))).not.toThrow();
  });

  it('rounds storage to the format width', () => {
    expect(storedBits(profile('int8-systolic'), 3)).toBe(8);
    expect(storedBits(profile('int8-systolic'), 32)).toBe(32);
    expect(storedBits(profile('bit-fusion-45nm'), 3)).toBe(4);
    expect(storedBits(profile('bit-fusion-45nm'), 12)).toBe(16);
    expect(storedBits(profile('gpu-h100'), 3)).toBe(8);
    expect(storedBits(profile('bit-serial-stripes'), 3)).toBe(3);
    expect(placeOperands(profile('gpu-a100'), 4, 16)).toMatchObject({ formatA: 2, formatB: 2, passes: 1 });
  });
});

describe('one training step, by hand (Bit Fusion, linear 64→128, batch 16)', () => {
  const layer = linearShape('fc', 64, 128);
  const p = () => profile('bit-fusion-45nm');

  it('forward GEMM at 4/4 bits: compute-bound, all tensors in SRAM', () => {
    const b = stepBreakdown(p(), [layer], 16, { bitsWeights: 4, bitsActivations: 4, bitsGrad: 8 });
    const fwd = b.gemms.find((g) => g.phase === 'forward')!;
    const macs = 16 * 64 * 128;
    expect(fwd.macs).toBe(macs);
    close(fwd.computeEnergyJ, macs * 0.115e-12, 1e-9);
    close(fwd.computeLatencyS, macs / (512 * 4 * 500e6), 1e-9);
    // activations 1024×4 + weights 8192×4 read, outputs 2048×4 written, all at the SRAM
    expect(fwd.memory[0]).toMatchObject({ level: 'sram', readBits: 1024 * 4 + 8192 * 4, writeBits: 2048 * 4 });
    expect(fwd.memory[1]).toMatchObject({ level: 'dram', readBits: 0, writeBits: 0 });
    close(fwd.memoryEnergyJ, (36864 + 8192) * (20e-12 / 64), 1e-9);
    close(fwd.memoryLatencyS, 45056 / (4096 * 500e6), 1e-9);
    expect(fwd.bound).toBe('compute');
    close(fwd.latencyS, fwd.computeLatencyS);
    expect(fwd.bitops).toBe(macs * 16);
  });

  it('weight-gradient GEMM: activations 4 × errors 8, fp32 gradient out', () => {
    const b = stepBreakdown(p(), [layer], 16, { bitsWeights: 4, bitsActivations: 4, bitsGrad: 8 });
    const wg = b.gemms.find((g) => g.phase === 'weightGrad')!;
    expect([wg.bitsA, wg.bitsB, wg.bitsResult]).toEqual([4, 8, 32]);
    close(wg.computeEnergyJ, wg.macs * 0.23e-12, 1e-9);
    // weight gradient 8192 × 32 bits = 262144 bits fits in 112 KiB = 917504 bits
    expect(wg.memory[0]!.writeBits).toBe(8192 * 32);
    expect(wg.bitops).toBe(wg.macs * 32);
    // step totals are the sum of the parts
    close(b.energyJ, b.gemms.reduce((s, g) => s + g.computeEnergyJ + g.memoryEnergyJ, 0));
    close(b.latencyS, b.gemms.reduce((s, g) => s + g.latencyS, 0));
    close(b.energyJ, b.byPhase.forward.energyJ + b.byPhase.inputGrad.energyJ + b.byPhase.weightGrad.energyJ);
  });

  it('a tensor larger than the SRAM lives in DRAM and passes through the SRAM', () => {
    // activations of 4096 samples × 64 × 8 bits = 2 Mibit > 112 KiB
    const g = gemmCost(p(), {
      layer: 'fc',
      phase: 'forward',
      macs: 4096 * 64 * 128,
      a: { elements: 4096 * 64, bits: 8 },
      b: { elements: 8192, bits: 8 },
      result: { elements: 4096 * 128, bits: 8 },
    });
    const aBits = 4096 * 64 * 8;
    const cBits = 4096 * 128 * 8;
    expect(g.tensors.map((t) => t.homeLevel)).toEqual([1, 0, 1]);
    expect(g.memory[1]).toMatchObject({ readBits: aBits, writeBits: cBits });
    expect(g.memory[0]).toMatchObject({ readBits: aBits + 8192 * 8 + cBits, writeBits: aBits + cBits });
    close(g.memory[1]!.energyJ, (aBits + cBits) * 15e-12, 1e-9);
    close(g.memoryLatencyS, (aBits + cBits) / (25.6e9 * 8), 1e-9);
    expect(g.latencyS).toBe(Math.max(g.computeLatencyS, g.memoryLatencyS)); // roofline
  });

  it('static power adds power × latency', () => {
    const tpu = profile('int8-systolic');
    const b = stepBreakdown(tpu, [layer], 16, { bitsWeights: 8, bitsActivations: 8, bitsGrad: 8 });
    close(b.staticEnergyJ, 28 * b.latencyS, 1e-9);
    close(b.energyJ, b.computeEnergyJ + b.memoryEnergyJ + b.staticEnergyJ, 1e-12);
  });
});

describe('cost model API', () => {
  const layers = getModelLayers('resnet-74');

  it('memoizes step costs per bit tuple', () => {
    const m = createCostModel(profile('bit-fusion-45nm'), layers, 128);
    const a = m.stepCost(4, 4, 8);
    expect(m.stepCost(4, 4, 8)).toBe(a);
    expect(m.breakdown(4, 4, 8)).toBe(m.breakdown(4, 4, 8));
    expect(m.stepCost(8, 8, 8).energyJ).toBeGreaterThan(a.energyJ);
    expect(() => m.stepCost(0, 4, 8)).toThrow(RangeError);
    expect(() => m.stepCost(4.5, 4, 8)).toThrow(RangeError);
  });

  it('tallyRun equals the histogram tally and the sum of step costs', () => {
    const m = createCostModel(profile('gpu-a100'), layers, 128);
    const schedule = makeSchedule('cpt:3-8:cycles=4');
    const steps = Array.from({ length: 400 }, (_, t) => ({ bitsWeights: schedule.bitsAt(t, 400), bitsActivations: schedule.bitsAt(t, 400), bitsGrad: 8 }));
    const run = tallyRun(m, steps);
    expect(run.steps).toBe(400);
    const direct = steps.reduce((s, x) => s + m.stepCost(x.bitsWeights, x.bitsActivations, x.bitsGrad).energyJ, 0);
    close(run.energyJ, direct, 1e-12);
    expect(tallyBitTuples(m, bitHistogram(steps)).energyJ).toBe(run.energyJ);
    expect(scheduleHistogram(schedule, 400, 8)).toEqual(bitHistogram(steps));
    close(run.byLayer.reduce((s, l) => s + l.energyJ, 0), run.energyJ, 1e-12);
  });
});

describe('savings against a static baseline', () => {
  const layers = getModelLayers('resnet-74');
  const estimate = (name: string, schedule: string, baseline: string) =>
    estimateSchedule(createCostModel(profile(name), layers, 128), { schedule, baseline, iterations: 64_000, bitsGrad: 8 });

  it('CPT paper: ResNet-74, cpt:3-8 vs static:8, grad 8 bits → BitOPs savings 36.67 %', () => {
    const e = estimate('bit-fusion-45nm', 'cpt:3-8', 'static:8');
    expect(Math.abs(e.savings.bitopsPct - 36.67)).toBeLessThan(0.1);
    expect(e.savings.bitopsPct).toBeCloseTo(36.673, 3);
    expect(e.baselineSchedule).toBe('static:8');
  });

  it('the baseline defaults to static:Bmax', () => {
    const m = createCostModel(profile('bit-fusion-45nm'), layers, 128);
    expect(estimateSchedule(m, { schedule: 'cpt:3-6', iterations: 1000 }).baselineSchedule).toBe('static:6');
  });

  it.each(['cpt:3-8', 'cpt:2-8', 'tri:1-8', 'static:4', 'ramp:1-8'])('an int8-only array saves nothing with %s', (schedule) => {
    const e = estimate('int8-systolic', schedule, 'static:8');
    expect(e.savings.energyPct).toBe(0);
    expect(e.savings.latencyPct).toBe(0);
  });

  it('Bit Fusion saves stepwise: only at 4 and 2 bits', () => {
    const at = (b: number) => estimate('bit-fusion-45nm', `static:${b}`, 'static:8').savings.energyPct;
    const s = [1, 2, 3, 4, 5, 6, 7, 8].map(at);
    expect(s[7]).toBe(0);
    expect(s[4]).toBe(0); // 5, 6, 7 run as 8
    expect(s[5]).toBe(0);
    expect(s[6]).toBe(0);
    expect(s[3]).toBeGreaterThan(0); // 4 bits
    expect(s[2]).toBe(s[3]); // 3 runs as 4
    expect(s[1]).toBeGreaterThan(s[3]!); // 2 bits
    expect(s[0]).toBe(s[1]); // 1 runs as 2
  });

  it('bit-serial (Stripes) compute savings grow linearly as activation bits fall', () => {
    const m = createCostModel(profile('bit-serial-stripes'), layers, 128);
    const forward = (b: number) => m.breakdown(16, b, 16).byPhase.forward;
    const full = forward(16);
    for (const b of [2, 4, 8, 12]) {
      close(1 - forward(b).computeLatencyS / full.computeLatencyS, 1 - b / 16, 1e-9);
      close(1 - forward(b).computeEnergyJ / full.computeEnergyJ, 1 - b / 16, 1e-9);
    }
    const total = [16, 12, 8, 4, 2].map((b) => estimate('bit-serial-stripes', `static:${b}`, 'static:16').savings.latencyPct);
    for (let i = 1; i < total.length; i++) expect(total[i]).toBeGreaterThan(total[i - 1]!);
  });

  it('Loom compute latency scales with ba·bw', () => {
    const m = createCostModel(profile('loom-bit-serial'), layers, 128);
    const full = m.breakdown(16, 16, 16).byPhase.forward.computeLatencyS;
    close(m.breakdown(4, 8, 16).byPhase.forward.computeLatencyS / full, 32 / 256, 1e-9);
  });

  it('GPUs save in tiers of formats', () => {
    const a100 = (b: number) => estimate('gpu-a100', `static:${b}`, 'static:16').savings.latencyPct;
    expect(a100(16)).toBe(0);
    expect(a100(9)).toBe(0);
    expect(a100(8)).toBeGreaterThan(0);
    expect(a100(5)).toBe(a100(8));
    expect(a100(4)).toBeGreaterThan(a100(8));
    const h100 = (b: number) => estimate('gpu-h100', `static:${b}`, 'static:16').savings.latencyPct;
    expect(h100(4)).toBe(h100(8));
    expect(h100(8)).toBeGreaterThan(0);
  });

  it('static:32 baselines run on every profile (multipass above the widest format)', () => {
    for (const name of Object.keys(MAC_CASES)) {
      const e = estimate(name, 'cpt:3-8', 'static:32');
      expect(e.savings.energyPct).toBeGreaterThan(0);
      expect(Number.isFinite(e.baseline.energyJ)).toBe(true);
    }
  });
});

describe('reachable values keep every cost finite and positive (the corners of the ranges)', () => {
  const memory = (levels: number, energy: string, bandwidth: string) =>
    Array.from({ length: levels }, (_, i) => ({ name: `l${i}`, ...(i < levels - 1 ? { capacity: '1 bit' } : {}), readEnergy: energy, writeEnergy: energy, bandwidth }));
  const base = { description: 'a corner of the reachable ranges', sources: [{ title: 'test' }] };
  // Slowest and most expensive: a 1-bit datapath at 1024 MAC/s and 1 mJ/1024 per pass (so 32 × 32-bit
  // MACs take 1024 passes: 1 MAC/s and 1 mJ), 1 mJ/bit memories at 1 bit/s, 1 GW of static power;
  // and the largest workload: resnet-50 at batch 2^20, 64-bit storage, eight 1-bit memory levels.
  const slowest = () =>
    compileProfile(
      { ...base, name: 'slowest', clock: '1 Hz', compute: { formats: [1], macEnergy: `${1e-3 / 1024} J`, macThroughput: '1024 Hz' }, memory: memory(8, '1 mJ/bit', '1 bit/s'), staticPower: '1 GW' },
      'slowest.json',
    );
  const fastest = () =>
    compileProfile(
      { ...base, name: 'fastest', clock: '1 PHz', compute: { formats: [64], macEnergy: '1e-24 J', macThroughput: '1e24 Hz' }, memory: memory(1, '1e-24 J/bit', '1e24 bit/s') },
      'fastest.json',
    );

  it('the largest step and run on the slowest profile stay finite (docs: ≤ ~1e25 J and ~1e16 s per step)', () => {
    const m = createCostModel(slowest(), getModelLayers('resnet-50'), 1 << 20);
    const step = m.breakdown(32, 32, 32);
    expect(step.energyJ).toBeGreaterThan(1e24);
    expect(step.energyJ).toBeLessThan(1e26);
    expect(step.latencyS).toBeLessThan(1e17);
    const run = tallyBitTuples(m, [{ bitsWeights: 32, bitsActivations: 32, bitsGrad: 32, count: 1e9 }]);
    expect(run.energyJ).toBeLessThan(1e35);
    expect(run.latencyS).toBeLessThan(1e26);
    expect(Number.isFinite(run.energyJ * 1e6)).toBe(true); // far from overflow
  });

  it('the smallest step on the fastest profile stays a positive normal number (docs: ≥ ~1e-20 J and s)', () => {
    const m = createCostModel(fastest(), getModelLayers('mlp'), 1);
    const step = m.breakdown(1, 1, 1);
    expect(step.energyJ).toBeGreaterThan(1e-20);
    expect(step.latencyS).toBeGreaterThan(1e-20);
    expect(step.computeEnergyJ).toBeGreaterThan(1e-21);
    const e = estimateSchedule(m, { schedule: 'cpt:1-2', baseline: 'static:32', iterations: 100, bitsGrad: 1 });
    expect(e.savings.bitopsPct).toBeGreaterThan(90);
    expect(e.savings.energyPct).toBe(0); // one 64-bit format: every width costs the same
    expect(e.run.energyJ).toBeGreaterThan(0);
  });

  it('one step past a corner is refused', () => {
    expect(() =>
      compileProfile({ ...base, name: 'x', clock: '1 Hz', compute: { formats: [1], macEnergy: `${1e-3 / 1000} J`, macThroughput: '1024 Hz' }, memory: memory(1, '1 pJ/bit', '1 bit/s') }, 'x.json'),
    ).toThrow(/x\.json: \$\.compute\.macEnergy: must be between 1e-24 and 0\.001 J per MAC, got 0\.001\d* J for \d+-bit × \d+-bit operands/);
    expect(() =>
      compileProfile({ ...base, name: 'x', clock: '1 Hz', compute: { formats: [64], macEnergy: '1 pJ', macThroughput: '1e24 Hz' }, memory: memory(1, '9e-25 J/bit', '1 bit/s') }, 'x.json'),
    ).toThrow('x.json: $.memory[0].readEnergy: must be between 1e-24 and 0.001 J/bit, got "9e-25 J/bit" = 9e-25 J/bit');
  });
});

describe('operand kinds: formats are (kind, bits), placement by kind with a fallback', () => {
  const FLOAT = { floatWeights: true, floatActivations: true, floatGrad: true } as const;
  const index = (p: HardwareProfile, name: string) => p.formats.findIndex((f) => f.name === name);
  const formatOf = (p: HardwareProfile, bits: number, kinds: { floatA?: boolean; floatB?: boolean } = {}) => p.formats[placeOperands(p, bits, bits, kinds).formatA]!.name;
  /** gpu-h100 with expressions that differ by kind: integer MACs at 1 pJ and 1000 THz, floating-point ones at 2 pJ and 500 THz. */
  const h100ByKind = () => {
    const json = structuredClone(profile('gpu-h100').json) as Record<string, any>;
    json.compute.macEnergy = '(fp ? 2 : 1) pJ';
    json.compute.macThroughput = '(fp ? 500 : 1000) THz';
    return compileProfile(json, 'h100-by-kind.json');
  };

  it('H100 lists int8 and fp8 (989.5 T MAC/s each), bf16 and fp16 (494.7 T), tf32 (247.4 T)', () => {
    const p = profile('gpu-h100');
    expect(p.formats.map((f) => [f.name, f.bits, f.float])).toEqual([
      ['int8', 8, false],
      ['fp8', 8, true],
      ['bf16', 16, true],
      ['fp16', 16, true],
      ['tf32', 32, true],
    ]);
    const n = p.formats.length;
    const diagonal = (t: Float64Array) => p.formats.map((_, i) => t[i * n + i]);
    expect(diagonal(p.macThroughputPerS)).toEqual([989.5e12, 989.5e12, 494.7e12, 494.7e12, 247.4e12]);
    diagonal(p.macEnergyJ).forEach((e, i) => close(e!, 610 / p.macThroughputPerS[i * n + i]!, 1e-12));
  });

  it('A100 lists int4 (624 T MAC/s), int8 (312 T), fp16 and bf16 (156 T), tf32 (78 T)', () => {
    const p = profile('gpu-a100');
    expect(p.formats.map((f) => `${f.name}:${f.bits}:${f.float ? 'float' : 'int'}`)).toEqual(['int4:4:int', 'int8:8:int', 'fp16:16:float', 'bf16:16:float', 'tf32:32:float']);
    const rate = (bits: number, float: boolean, q = p) => 1 / macCost(q, bits, bits, { floatA: float, floatB: float }).timeS;
    close(rate(4, false), 624e12, 1e-12);
    close(rate(8, false), 312e12, 1e-12);
    close(rate(16, true), 156e12, 1e-12);
    close(rate(32, true), 78e12, 1e-12);
    // bf16, listed after fp16, is what a 16-bit float runs as once preferred
    const bf16 = preferFormat(p, index(p, 'bf16'));
    expect(formatOf(bf16, 16, { floatA: true, floatB: true })).toBe('bf16');
    close(rate(16, true, bf16), 156e12, 1e-12);
    close(macCost(bf16, 16, 16, { floatA: true, floatB: true }).energyJ, 340 / 156e12, 1e-12);
    // no fp8 on the A100: an 8-bit float runs as fp16, in its own kind (no fallback)
    expect(placeOperands(p, 8, 8, { floatA: true, floatB: true })).toMatchObject({ formatA: index(p, 'fp16'), fallbackA: false, fallbackB: false });
  });

  it('int8 and fp8 each run in their own tier: fp = 0 vs fp = 1 where the expressions differ by kind', () => {
    const p = h100ByKind();
    expect(placeOperands(p, 8, 8)).toMatchObject({ formatA: index(p, 'int8'), formatB: index(p, 'int8'), fallbackA: false, fallbackB: false });
    expect(placeOperands(p, 8, 8, { floatA: true, floatB: true })).toMatchObject({ formatA: index(p, 'fp8'), formatB: index(p, 'fp8'), fallbackA: false });
    expect(macCost(p, 5, 8).energyJ).toBe(1e-12);
    expect(macCost(p, 5, 8, { floatA: true, floatB: true }).energyJ).toBe(2e-12);
    close(1 / macCost(p, 4, 4, { floatA: true, floatB: true }).timeS, 500e12, 1e-12);
    // a whole step: every quantized GEMM follows its operands' kind
    const layers = [linearShape('fc', 64, 128)];
    const m = createCostModel(p, layers, 16);
    const int = m.breakdown(8, 8, 8);
    const fp = m.breakdown(8, 8, 8, FLOAT);
    expect(int.gemms.map((g) => g.formatA)).toEqual(['int8', 'int8', 'int8']);
    expect(fp.gemms.map((g) => g.formatA)).toEqual(['fp8', 'fp8', 'fp8']);
    close(fp.computeEnergyJ, 2 * int.computeEnergyJ, 1e-12);
    close(fp.computeLatencyS, 2 * int.computeLatencyS, 1e-12);
    expect(fp.bits).toStrictEqual({ bitsWeights: 8, bitsActivations: 8, bitsGrad: 8, ...FLOAT });
    expect(int.bits).toStrictEqual({ bitsWeights: 8, bitsActivations: 8, bitsGrad: 8 });
  });

  it('fallback: no format of the kind wide enough → the narrowest of any kind, recorded', () => {
    const bf = profile('bit-fusion-45nm');
    // an integer-only array costs fp8 as its 8-bit datapath, and says so
    const fp8 = macCost(bf, 8, 4, { floatA: true, floatB: true });
    const int8 = macCost(bf, 8, 4);
    expect([fp8.energyJ, fp8.timeS]).toEqual([int8.energyJ, int8.timeS]);
    expect(fp8.placement).toMatchObject({ formatA: 2, formatB: 1, fallbackA: true, fallbackB: true });
    expect(int8.placement).toMatchObject({ fallbackA: false, fallbackB: false });
    expect(storedBits(bf, 3, true)).toBe(4);
    // A100: no integer format above 8 bits, so int9..16 run as fp16, int17..32 as tf32
    const a100 = profile('gpu-a100');
    expect(placeOperands(a100, 12, 12)).toMatchObject({ formatA: index(a100, 'fp16'), fallbackA: true, fallbackB: true });
    expect(formatOf(a100, 24)).toBe('tf32');
    // H100: floats narrower than 8 bits run as fp8, integers as int8
    expect(formatOf(profile('gpu-h100'), 4, { floatA: true, floatB: true })).toBe('fp8');
    expect(formatOf(profile('gpu-h100'), 4)).toBe('int8');
    // kind beats width: [int8, fp16, int32] runs a 12-bit integer as int32 and a 12-bit float as fp16;
    // a 24-bit float has no float format wide enough and falls back to int32
    const mixed = compileProfile(
      {
        name: 'mixed',
        description: 'int8, fp16 and int32, independent operands',
        sources: [{ title: 'test' }],
        clock: '1 GHz',
        compute: { formats: [8, { name: 'fp16', bits: 16, float: true }, 32], macEnergy: '1 pJ * (ba + bw) / 16 * (1 + fp)', macThroughput: '1 THz' },
        memory: [{ name: 'dram', readEnergy: '1 pJ/bit', writeEnergy: '1 pJ/bit', bandwidth: '1 TB/s' }],
      },
      'mixed.json',
    );
    expect(placeOperands(mixed, 12, 24, { floatA: true })).toMatchObject({ formatA: 1, formatB: 2, fallbackA: false, fallbackB: false });
    expect(placeOperands(mixed, 12, 24, { floatB: true })).toMatchObject({ formatA: 2, formatB: 2, fallbackA: false, fallbackB: true });
    close(macCost(mixed, 12, 12, { floatA: true }).energyJ, ((1e-12 * 48) / 16) * 2, 1e-12); // fp16 × int32, fp = 1
    expect(storedBits(mixed, 12)).toBe(32);
    expect(storedBits(mixed, 12, true)).toBe(16);
  });

  it('shared operands: one format wide enough for both, floating point if either is (when the profile has one)', () => {
    const h100 = profile('gpu-h100');
    // int8 × fp8 shares fp8; the integer operand is the one in another kind's format
    expect(placeOperands(h100, 8, 8, { floatB: true })).toMatchObject({ formatA: index(h100, 'fp8'), formatB: index(h100, 'fp8'), fallbackA: true, fallbackB: false });
    // int4 × fp8 on the A100 (no fp8): fp16, wide enough for both
    const a100 = profile('gpu-a100');
    expect(placeOperands(a100, 4, 8, { floatB: true })).toMatchObject({ formatA: index(a100, 'fp16'), formatB: index(a100, 'fp16') });
    // width first: an int12 with an fp8 runs in the narrowest float holding 12 bits
    expect(placeOperands(h100, 12, 8, { floatB: true })).toMatchObject({ formatA: index(h100, 'bf16'), formatB: index(h100, 'bf16') });
    // an integer-only shared array has no float format: both run as int8
    const tpu = profile('int8-systolic');
    expect(placeOperands(tpu, 8, 3, { floatA: true })).toMatchObject({ formatA: 0, formatB: 0, passes: 1, fallbackA: true, fallbackB: false });
  });

  it('multipass and reject are unchanged by kind: slices of the widest format, each placed by kind', () => {
    const bf = profile('bit-fusion-45nm');
    expect(macCost(bf, 32, 8, { floatA: true }).placement).toMatchObject({ slicesA: 4, passes: 4, formatA: 2, fallbackA: true });
    const json = structuredClone(profile('int8-systolic').json) as Record<string, any>;
    json.compute.aboveMax = 'reject';
    const strict = compileProfile(json, 'strict.json');
    expect(() => macCost(strict, 16, 8, { floatA: true })).toThrow('refuses MAC operands wider than the widest format int8 (8 bits)');
    expect(macCost(strict, 8, 8, { floatA: true, floatB: true }).placement.passes).toBe(1);
  });

  it('full-precision layers and the weight gradient are fp32 (floating point)', () => {
    const layers = [linearShape('fc1', 64, 128), { ...linearShape('fc2', 128, 10), fullPrecision: true }];
    const b = stepBreakdown(h100ByKind(), layers, 16, { bitsWeights: 8, bitsActivations: 8, bitsGrad: 8 });
    const fc2 = b.gemms.filter((g) => g.layer === 'fc2');
    expect(fc2.map((g) => [g.formatA, g.formatB, g.floatA, g.floatB])).toEqual(Array(3).fill(['tf32', 'tf32', true, true]));
    const wg = b.gemms.find((g) => g.layer === 'fc1' && g.phase === 'weightGrad')!;
    expect(wg.tensors.map((t) => [t.role, t.float, t.storedBits])).toEqual([['a', false, 8], ['b', false, 8], ['result', true, 32]]);
    // on an integer-only array the fp32 operands fall back to 4 slices of int8, as they always ran
    const bf = stepBreakdown(profile('bit-fusion-45nm'), layers, 16, { bitsWeights: 8, bitsActivations: 8, bitsGrad: 8 });
    expect(bf.gemms.filter((g) => g.layer === 'fc2').every((g) => g.fallbackA && g.fallbackB && g.passes === 16)).toBe(true);
  });

  it('flag-less tuples cost what they always did; absent and false flags are the same tuple', () => {
    const m = createCostModel(profile('gpu-h100'), getModelLayers('resnet-38'), 128);
    const c = m.stepCost(6, 6, 8);
    expect(m.stepCost(6, 6, 8, {})).toBe(c);
    expect(m.stepCost(6, 6, 8, { floatWeights: false, floatActivations: false, floatGrad: false })).toBe(c);
    expect(m.stepCost(6, 6, 8, FLOAT)).not.toBe(c);
    // int8 and fp8 cost the same on the H100 (the datasheet gives both 1979 TOPS), but are priced apart
    expect(m.stepCost(6, 6, 8, FLOAT).energyJ).toBe(c.energyJ);
    expect(m.breakdown(6, 6, 8, FLOAT).gemms[3]!.formatA).toBe('fp8');
    expect(m.breakdown(6, 6, 8).gemms[3]!.formatA).toBe('int8');
  });

  it('histograms keep the kinds in their keys (only true flags are stored)', () => {
    const steps = [
      { bitsWeights: 8, bitsActivations: 8, bitsGrad: 8 },
      { bitsWeights: 8, bitsActivations: 8, bitsGrad: 8, floatWeights: true, floatActivations: true },
      { bitsWeights: 8, bitsActivations: 8, bitsGrad: 8, floatGrad: false },
      { bitsWeights: 4, bitsActivations: 4, bitsGrad: 8, floatGrad: true },
    ];
    expect(bitHistogram(steps)).toStrictEqual([
      { bitsWeights: 4, bitsActivations: 4, bitsGrad: 8, floatGrad: true, count: 1 },
      { bitsWeights: 8, bitsActivations: 8, bitsGrad: 8, count: 2 },
      { bitsWeights: 8, bitsActivations: 8, bitsGrad: 8, floatWeights: true, floatActivations: true, count: 1 },
    ]);
    expect(scheduleHistogram('static:8', 10, 8, { floatWeights: true, floatActivations: true })).toStrictEqual([
      { bitsWeights: 8, bitsActivations: 8, bitsGrad: 8, floatWeights: true, floatActivations: true, count: 10 },
    ]);
    expect(scheduleHistogram('static:8', 10, 8)).toStrictEqual([{ bitsWeights: 8, bitsActivations: 8, bitsGrad: 8, count: 10 }]);
    // the tally prices each kind in its tier
    const m = createCostModel(h100ByKind(), [linearShape('fc', 64, 128)], 16);
    const t = tallyBitTuples(m, bitHistogram(steps));
    const direct = steps.reduce((sum, x) => sum + m.stepCost(x.bitsWeights, x.bitsActivations, x.bitsGrad, x).energyJ, 0);
    close(t.energyJ, direct, 1e-12);
    expect(t.histogram).toHaveLength(3);
  });

  it('the baseline keeps each step\'s kinds (CostTally, estimateSchedule) unless told the baseline\'s', () => {
    const m = createCostModel(h100ByKind(), [linearShape('fc', 64, 128)], 16);
    const float = estimateSchedule(m, { schedule: 'cpt:3-8', baseline: 'static:8', iterations: 40, kinds: FLOAT });
    expect(float.run.histogram.every((h) => h.floatWeights && h.floatActivations && h.floatGrad)).toBe(true);
    expect(float.baseline.histogram).toStrictEqual([{ bitsWeights: 8, bitsActivations: 8, bitsGrad: 8, ...FLOAT, count: 40 }]);
    expect(float.savings.energyPct).toBe(0); // fp8 everywhere
    const vsInt = estimateSchedule(m, { schedule: 'cpt:3-8', baseline: 'static:8', iterations: 40, kinds: FLOAT, baselineKinds: { floatWeights: false, floatActivations: false } });
    expect(vsInt.baseline.histogram).toStrictEqual([{ bitsWeights: 8, bitsActivations: 8, bitsGrad: 8, floatGrad: true, count: 40 }]);
    expect(vsInt.savings.energyPct).toBeLessThan(0);
    const tally = new CostTally(m, makeSchedule('static:8'), 4);
    const [c] = tally.add([{ step: 0, bitsWeights: 4, bitsActivations: 4, bitsGrad: 8, ...FLOAT }]);
    expect(c!.baselineEnergyJ).toBe(m.stepCost(8, 8, 8, FLOAT).energyJ);
    expect(c!.energyJ).toBe(m.stepCost(4, 4, 8, FLOAT).energyJ);
    const toInt = new CostTally(m, makeSchedule('static:8'), 4, { floatWeights: false, floatActivations: false });
    expect(toInt.add([{ step: 0, bitsWeights: 4, bitsActivations: 4, bitsGrad: 8, ...FLOAT }])[0]!.baselineEnergyJ).toBe(m.stepCost(8, 8, 8, { floatGrad: true }).energyJ);
  });

  it('formatTiers prices one step in every format; kindFallbacks lists what ran in another kind', () => {
    const layers = [linearShape('fc1', 64, 128), { ...linearShape('fc2', 128, 10), fullPrecision: true }];
    const p = h100ByKind();
    const m = createCostModel(p, layers, 16);
    const tiers = formatTiers(m);
    expect(tiers.map((t) => [t.name, t.float, t.bits])).toEqual([['int8', false, 8], ['fp8', true, 8], ['bf16', true, 16], ['fp16', true, 16], ['tf32', true, 32]]);
    expect(tiers[0]!.step).toEqual(m.stepCost(8, 8, 8));
    expect(tiers[1]!.step).toEqual(m.stepCost(8, 8, 8, FLOAT));
    expect(tiers[3]!.step).toEqual(tiers[2]!.step);
    expect(tiers.map((t) => [t.macEnergyJ, t.macsPerS])).toEqual([[1e-12, 1e15], ...Array(4).fill([2e-12, 5e14])]);
    expect(createCostModel(preferFormat(p, 3), layers, 16).breakdown(16, 16, 16, FLOAT).gemms[0]!.formatA).toBe('fp16');
    expect(m.breakdown(16, 16, 16, FLOAT).gemms[0]!.formatA).toBe('bf16');
    expect(kindFallbacks(m, [{ bitsWeights: 8, bitsActivations: 8, bitsGrad: 8 }])).toEqual([]);
    expect(kindFallbacks(m, [{ bitsWeights: 12, bitsActivations: 8, bitsGrad: 8 }])).toEqual([
      { operand: 'int8', float: false, bits: 8, format: 'bf16', slices: 1 },
      { operand: 'int12', float: false, bits: 12, format: 'bf16', slices: 1 },
    ]);
    const bf = createCostModel(profile('bit-fusion-45nm'), layers, 16);
    expect(kindFallbacks(bf, [{ bitsWeights: 4, bitsActivations: 4, bitsGrad: 8 }])).toEqual([{ operand: 'fp32', float: true, bits: 32, format: 'int8', slices: 4 }]);
  });
});
