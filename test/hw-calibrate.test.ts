import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProfileError } from '../src/errors.js';
import { measureHost, readCaches } from '../src/hw/calibrate.js';
import { type GemmTiming, type HostMeasurements, fitGemmTimes, hostProfileJson, profileNameFor } from '../src/hw/host-profile.js';
import { compileProfile, createCostModel, loadProfileFile, shippedProfilesDir, tallyBitTuples } from '../src/hw/index.js';
import { getModelLayers } from '../src/models/paper.js';
import { runMain } from './helpers/cli.js';

const ISO_DATE_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/;

function shippedJson(name: string): Record<string, any> {
  return JSON.parse(readFileSync(join(shippedProfilesDir(), `${name}.json`), 'utf8'));
}

function refusal(json: unknown): string {
  try {
    compileProfile(json, 'my.json');
  } catch (err) {
    if (err instanceof ProfileError) return err.message;
    throw err;
  }
  throw new Error('expected a ProfileError');
}

describe('bitcycle profile calibrate --quick (in-process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bitcycle-calibrate-'));
  const file = join(dir, 'my-host.json');
  let run: { status: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    run = await runMain(['profile', 'calibrate', '--out', file, '--quick']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a profile that `profile validate` accepts, and prints what it measured', async () => {
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^GEMM m×k×n \(less empty run\)\s+fp32 MatMul\s+uint8×int8$/m);
    expect(run.stdout).toMatch(/^fitted rate /m);
    expect(run.stdout).toMatch(/^overhead: .* per GEMM, .* per step/m);
    expect(run.stdout).toMatch(/^energy: not measured/m);
    expect(run.stdout).toContain(`wrote ${file} (profile my-host)`);
    const validate = await runMain(['profile', 'validate', file]);
    expect(validate.status).toBe(0);
    expect(validate.stdout).toMatch(/: ok \(my-host: 2 formats, [12] memory levels?\)\n$/);
  });

  it('the profile is in the ordinary format: int8 and fp32 shared, positive finite rates and bandwidths, overheads', () => {
    const p = loadProfileFile(file);
    expect(p.name).toBe('my-host');
    expect(p.formats).toEqual([
      { name: 'int8', bits: 8, float: false },
      { name: 'fp32', bits: 32, float: true },
    ]);
    expect([p.operands, p.aboveMax]).toEqual(['shared', 'reject']);
    for (const i of [0, 1]) {
      const rate = p.macThroughputPerS[i * 2 + i]!;
      expect(Number.isFinite(rate) && rate > 0).toBe(true);
    }
    expect(p.memory.length).toBeGreaterThanOrEqual(1);
    for (const level of p.memory) expect(Number.isFinite(level.bandwidthBitsPerS) && level.bandwidthBitsPerS > 0).toBe(true);
    expect(p.memory[p.memory.length - 1]!.name).toBe('dram');
    for (const t of [p.overheadPerGemmS, p.overheadPerStepS]) expect(Number.isFinite(t) && t >= 0).toBe(true);
    expect(p.json.overhead).toEqual({ perGemm: expect.stringMatching(/ us$/), perStep: expect.stringMatching(/ us$/) });
  });

  it('its sources say it was measured, when (ISO date-time) and where; energy is said to be assumed, not measured', () => {
    const p = loadProfileFile(file);
    const measured = p.sources[0]!;
    expect(measured.title).toMatch(/^measured by bitcycle profile calibrate --quick at /);
    expect(measured.title).toMatch(ISO_DATE_TIME);
    expect(measured.title).toContain(`host ${JSON.stringify(hostname())}`);
    expect(measured.title).toMatch(/onnxruntime-node \d+\.\d+\.\d+, 1 intra-op thread$/);
    expect(measured.uses).toMatch(/fp32 MatMul .* uint8×int8 MatMulInteger/);
    const energy = p.sources.find((s) => s.title.includes('Horowitz'))!;
    expect(energy.uses).toMatch(/^NOT MEASURED, ASSUMED/);
    expect(p.notes.some((n) => n.startsWith('Energy is NOT measured'))).toBe(true);
    expect(p.notes[0]).toMatch(/^--quick: /);
  });

  it('estimate takes it by path; it refuses operands wider than fp32 up front', async () => {
    const ok = await runMain(['estimate', '--model', 'mlp', '--schedule', 'cpt:3-8', '--iterations', '100', '--profile', file, '--json']);
    expect(ok.status).toBe(0);
    const e = JSON.parse(ok.stdout);
    expect(e.profile).toBe('my-host');
    expect(e.latencyS).toBeGreaterThan(0);
    // errors at 8 bits and weights/activations ≤ 8 bits run on the int8 path: the static:8 baseline costs the same
    expect(e.savings.latencyPct).toBe(0);
  });

  it('bad input is one line naming the option, exit code 2, before anything is measured or written', async () => {
    const before = readdirSync(dir).sort();
    const plain = join(dir, 'plain.txt');
    writeFileSync(plain, 'x');
    const cases: [string[], RegExp][] = [
      [['--out', dir], /^bitcycle: --out: ".*" is a directory; give a file path such as .*\/host\.json\n$/],
      [['--out', join(dir, 'host.txt')], /^bitcycle: --out: expected a file path ending in \.json .*\n$/],
      [['--out', join(plain, 'host.json')], /^bitcycle: --out: cannot write ".*plain\.txt\/host\.json" \(ENOTDIR\)\n$/],
      [['--out', '/proc/bitcycle-no-such-dir/host.json'], /^bitcycle: --out: cannot create directory "\/proc\/bitcycle-no-such-dir" \(ENOENT\)\n$/],
      [['--out', join(dir, 'a.json'), '--threads', '0'], /^bitcycle: --threads: expected an integer in 1\.\.64, got 0\n$/],
      [['--out', join(dir, 'a.json'), '--threads', 'two'], /^bitcycle: --threads: expected an integer in 1\.\.64, got "two"\n$/],
      [[], /^bitcycle: --out: required: the profile JSON file to write, e\.g\. --out host\.json\n$/],
    ];
    for (const [args, message] of cases) {
      const r = await runMain(['profile', 'calibrate', ...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
    expect(readdirSync(dir).sort()).toEqual([...before, 'plain.txt'].sort());
  });

  it('--help ends with examples', async () => {
    const r = await runMain(['profile', 'calibrate', '--help']);
    expect(r.status).toBe(0);
    const examples = r.stdout.split('\nExamples:\n')[1];
    expect(examples?.trimEnd().split('\n').every((line) => line.startsWith('  bitcycle '))).toBe(true);
  });
});

describe('measuring without cache sizes', () => {
  it('no readable sysfs cache directory: a quick calibration has one memory level (dram) and still validates', async () => {
    const m = await measureHost({ quick: true, cacheDir: join(tmpdir(), 'bitcycle-no-such-cache-dir') });
    expect(m.cache).toBeNull();
    expect(m.bandwidth.map((b) => b.level)).toEqual(['dram']);
    const p = compileProfile(hostProfileJson(m, 'host'), 'host.json');
    expect(p.memory.map((l) => l.name)).toEqual(['dram']);
    expect(m.measuredAt).toMatch(ISO_DATE_TIME);
  });

  it('readCaches reads data and unified caches of a sysfs directory, smallest first, and skips instruction caches', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitcycle-cache-'));
    const entries = [
      ['index0', '1', 'Data', '32K'],
      ['index1', '1', 'Instruction', '32K'],
      ['index2', '3', 'Unified', '32768K'],
      ['index3', '2', 'Unified', '1M'],
    ];
    for (const [index, level, type, size] of entries) {
      mkdirSync(join(dir, index!));
      writeFileSync(join(dir, index!, 'level'), `${level}\n`);
      writeFileSync(join(dir, index!, 'type'), `${type}\n`);
      writeFileSync(join(dir, index!, 'size'), `${size}\n`);
    }
    expect(readCaches(dir)).toEqual([
      { level: 1, type: 'Data', bytes: 32 * 1024 },
      { level: 2, type: 'Unified', bytes: 1024 * 1024 },
      { level: 3, type: 'Unified', bytes: 32 * 1024 * 1024 },
    ]);
    expect(readCaches(join(dir, 'missing'))).toBeNull();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('fitting GEMM times', () => {
  const timing = (kind: 'fp32' | 'int8', m: number, k: number, n: number, perGemmS: number, rate: number): GemmTiming => ({ kind, m, k, n, timeS: perGemmS + (m * k * n) / rate });

  it('recovers the fixed time and both rates from exact times', () => {
    const shapes: [number, number, number][] = [[16, 16, 16], [64, 64, 128], [512, 512, 512]];
    const timings = [...shapes.map(([m, k, n]) => timing('fp32', m, k, n, 2e-6, 50e9)), ...shapes.map(([m, k, n]) => timing('int8', m, k, n, 2e-6, 200e9))];
    const fit = fitGemmTimes(timings);
    expect(fit.perGemmS).toBeCloseTo(2e-6, 12);
    expect(fit.macsPerS.fp32 / 50e9).toBeCloseTo(1, 9);
    expect(fit.macsPerS.int8 / 200e9).toBeCloseTo(1, 9);
  });

  it('a negative fitted intercept is refitted as 0; fewer than two sizes per path is refused', () => {
    const timings: GemmTiming[] = [
      { kind: 'fp32', m: 10, k: 10, n: 10, timeS: 1e-9 },
      { kind: 'fp32', m: 100, k: 100, n: 100, timeS: 1e-5 },
      { kind: 'int8', m: 10, k: 10, n: 10, timeS: 1e-9 },
      { kind: 'int8', m: 100, k: 100, n: 100, timeS: 5e-6 },
    ];
    const fit = fitGemmTimes(timings);
    expect(fit.perGemmS).toBe(0);
    expect(fit.method).toMatch(/refitted with perGemm = 0/);
    for (const rate of Object.values(fit.macsPerS)) expect(Number.isFinite(rate) && rate > 0).toBe(true);
    expect(() => fitGemmTimes(timings.slice(1))).toThrow(/at least two GEMM sizes per path/);
  });

  it('a profile name from the output file', () => {
    expect(profileNameFor('profiles/host.json')).toBe('host');
    expect(profileNameFor('my host (2).json')).toBe('my-host-2-');
    expect(profileNameFor('.json')).toBe('host');
  });
});

describe('hostProfileJson (pure)', () => {
  const measurements: HostMeasurements = {
    measuredAt: '2026-01-02T03:04:05.000Z',
    host: { hostname: 'box\u001b[31m', cpuModel: null, logicalCpus: 4, cpuMHz: null, platform: 'linux', arch: 'x64', node: 'v20.0.0', onnxruntime: '1.30.0' },
    threads: 2,
    quick: false,
    statistic: 'minimum of 5 timed runs after 2 warm-up runs',
    emptyRunS: { fp32: 10e-6, int8: 10e-6 },
    gemmRuns: [
      { kind: 'fp32', m: 16, k: 16, n: 16, timeS: 10e-6 + 1e-6 + 4096 / 50e9 },
      { kind: 'fp32', m: 512, k: 512, n: 512, timeS: 10e-6 + 1e-6 + 512 ** 3 / 50e9 },
      { kind: 'int8', m: 16, k: 16, n: 16, timeS: 10e-6 + 1e-6 + 4096 / 200e9 },
      { kind: 'int8', m: 512, k: 512, n: 512, timeS: 10e-6 + 1e-6 + 512 ** 3 / 200e9 },
    ],
    loopIterationS: 1e-6,
    loopCarried: 8,
    chunkSteps: 50,
    cache: { bytes: 32 * 2 ** 20, source: '/sys/x (L3 Unified, the largest data cache of cpu0)' },
    bandwidth: [
      { level: 'cache', arrayBytes: 4 * 2 ** 20, bytesPerS: 80e9 },
      { level: 'dram', arrayBytes: 32 * 2 ** 20, bytesPerS: 30e9 },
    ],
  };

  it('compiles to the measured numbers: rates by format, bandwidths, capacity, overheads', () => {
    const p = compileProfile(hostProfileJson(measurements, 'box'), 'box.json');
    expect(p.macThroughputPerS[0]! / 200e9).toBeCloseTo(1, 3); // int8 × int8
    expect(p.macThroughputPerS[3]! / 50e9).toBeCloseTo(1, 3); // fp32 × fp32
    expect(p.memory.map((l) => [l.name, l.capacityBits / 8, l.bandwidthBitsPerS / 8])).toEqual([
      ['cache', 32 * 2 ** 20, 80e9],
      ['dram', Number.POSITIVE_INFINITY, 30e9],
    ]);
    expect(p.overheadPerGemmS).toBeCloseTo(1e-6, 9);
    expect(p.overheadPerStepS).toBeCloseTo(1e-6 + 10e-6 / 50, 12);
    expect(p.clockHz).toBe(1e9);
    expect(p.notes.some((n) => n.includes('"1 GHz" stands in for it'))).toBe(true);
    // strings from the machine are made plain (no escape sequences in the profile)
    expect(JSON.stringify(hostProfileJson(measurements, 'box'))).not.toContain('\\u001b');
    expect(p.sources[0]!.title).toContain('at 2026-01-02T03:04:05.000Z on host "box [31m"');
    expect(p.sources[0]!.title).toContain('2 intra-op threads');
  });
});

describe('overhead in the profile format and the cost model', () => {
  const base = shippedJson('bit-fusion-45nm');
  const layers = getModelLayers('mlp');
  const batch = 64;

  it('adds perGemm to every GEMM and perStep once per step, with their static energy: exactly', () => {
    const without = compileProfile({ ...base, staticPower: '2 W' }, 'a.json');
    const withOverhead = compileProfile({ ...base, staticPower: '2 W', overhead: { perGemm: '3 us', perStep: '50 us' } }, 'b.json');
    expect(withOverhead.overheadPerGemmS).toBeCloseTo(3e-6, 18);
    expect(withOverhead.overheadPerStepS).toBeCloseTo(50e-6, 18);
    expect([without.overheadPerGemmS, without.overheadPerStepS]).toEqual([0, 0]);
    const a = createCostModel(without, layers, batch).breakdown(4, 4, 8);
    const b = createCostModel(withOverhead, layers, batch).breakdown(4, 4, 8);
    const gemms = 3 * layers.length;
    const added = gemms * 3e-6 + 50e-6;
    expect(b.latencyS - a.latencyS).toBeCloseTo(added, 15);
    expect(b.overheadLatencyS).toBeCloseTo(added, 15);
    expect(a.overheadLatencyS).toBe(0);
    expect(b.energyJ - a.energyJ).toBeCloseTo(2 * added, 15);
    expect(b.staticEnergyJ - a.staticEnergyJ).toBeCloseTo(2 * added, 15);
    b.gemms.forEach((g, i) => {
      expect(g.latencyS).toBe(Math.max(g.computeLatencyS, g.memoryLatencyS) + 3e-6);
      expect(g.latencyS - a.gemms[i]!.latencyS).toBeCloseTo(3e-6, 15);
      expect([g.computeEnergyJ, g.memoryEnergyJ]).toEqual([a.gemms[i]!.computeEnergyJ, a.gemms[i]!.memoryEnergyJ]);
    });
    // per-step overhead belongs to no phase: each phase gains its GEMMs' overhead only
    for (const phase of ['forward', 'inputGrad', 'weightGrad'] as const) {
      expect(b.byPhase[phase].latencyS - a.byPhase[phase].latencyS).toBeCloseTo(layers.length * 3e-6, 15);
    }
    // a run of 1000 steps: 1000 times the step's
    const count = 1000;
    const runA = tallyBitTuples(createCostModel(without, layers, batch), [{ bitsWeights: 4, bitsActivations: 4, bitsGrad: 8, count }]);
    const runB = tallyBitTuples(createCostModel(withOverhead, layers, batch), [{ bitsWeights: 4, bitsActivations: 4, bitsGrad: 8, count }]);
    expect(runB.latencyS - runA.latencyS).toBeCloseTo(count * added, 12);
    expect(runB.overheadLatencyS).toBeCloseTo(count * added, 12);
  });

  it('is optional, each field too; a bad value is one line naming its JSON path', () => {
    expect(compileProfile({ ...base, overhead: {} }, 'a.json').overheadPerGemmS).toBe(0);
    expect(compileProfile({ ...base, overhead: { perStep: '1 ms' } }, 'a.json').overheadPerStepS).toBe(1e-3);
    expect(compileProfile({ ...base, overhead: { perGemm: '0 s' } }, 'a.json').overheadPerGemmS).toBe(0);
    const cases: [unknown, string][] = [
      [{ perGemm: '-1 us' }, 'my.json: $.overhead.perGemm: must be zero or positive, got "-1 us" = -1e-6 s'],
      [{ perStep: '3 pJ' }, 'my.json: $.overhead.perStep: expected time (s), got "3 pJ" (energy)'],
      [{ perStep: '1e6 s' }, 'my.json: $.overhead.perStep: must be 0 or between 1e-15 and 1000 s, got "1e6 s" = 1e6 s'],
      [{ perCall: '1 us' }, 'my.json: $.overhead.perCall: unknown field "perCall"'],
      [{ perGemm: 3 }, 'my.json: $.overhead.perGemm: expected string, got 3'],
    ];
    for (const [overhead, message] of cases) {
      const m = refusal({ ...base, overhead });
      expect(m).toBe(message);
      expect(m.split('\n')).toHaveLength(1);
    }
  });

  it('the largest overheads keep the largest step finite', () => {
    const p = compileProfile({ ...base, staticPower: '1e9 W', overhead: { perGemm: '1000 s', perStep: '1000 s' } }, 'a.json');
    const b = createCostModel(p, getModelLayers('resnet-50'), 1 << 20).breakdown(32, 32, 32);
    expect(Number.isFinite(b.latencyS) && Number.isFinite(b.energyJ)).toBe(true);
  });
});
