import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { Rng } from '../src/util/random.js';
import { describe, expect, it } from 'vitest';
import { ProfileError, UsageError } from '../src/errors.js';
import {
  CostTally,
  LIMITS,
  availableProfiles,
  compileProfile,
  compileProfileText,
  createCostModel,
  isJsonSchemaDocument,
  loadProfile,
  loadProfileFile,
  operandBitsLimit,
  profileDigest,
  profileDirs,
  profileJsonSchema,
  readProfileSource,
  shippedProfileNames,
  shippedProfilesDir,
  tallyBitTuples,
  validateProfile,
} from '../src/hw/index.js';
import { getModelLayers } from '../src/models/paper.js';
import { makeSchedule } from '../src/schedule/index.js';
import { hasUnsafeCharacters } from '../src/util/text.js';

const SHIPPED = ['bit-fusion-45nm', 'bit-serial-stripes', 'gpu-a100', 'gpu-h100', 'horowitz-45nm', 'int8-systolic', 'loom-bit-serial'];

function shippedJson(name: string): Record<string, any> {
  return JSON.parse(readFileSync(join(shippedProfilesDir(), `${name}.json`), 'utf8'));
}

function profileError(json: unknown, file = 'my.json'): ProfileError {
  try {
    compileProfile(json, file);
  } catch (err) {
    if (err instanceof ProfileError) return err;
    throw err;
  }
  throw new Error('expected a ProfileError');
}

describe('shipped profiles', () => {
  it('are all present and compile', () => {
    expect(shippedProfileNames()).toEqual(SHIPPED);
    for (const name of SHIPPED) {
      const p = loadProfile(name);
      expect(p.name).toBe(name);
      expect(p.sources.length).toBeGreaterThan(0);
      expect(p.file).toMatch(new RegExp(`${name}\\.json$`));
    }
  });

  it('hw-profiles/schema.json is the schema generated from the zod definition', () => {
    const committed = JSON.parse(readFileSync(join(shippedProfilesDir(), 'schema.json'), 'utf8'));
    expect(committed).toEqual(profileJsonSchema());
  });

  it('compiles quantities to SI base units', () => {
    const p = loadProfile('bit-fusion-45nm');
    expect(p.clockHz).toBe(500e6);
    expect(p.formats.map((f) => f.bits)).toEqual([2, 4, 8]);
    expect(p.memory[0]).toMatchObject({ name: 'sram', capacityBits: 112 * 1024 * 8, bandwidthBitsPerS: 4096 * 500e6 });
    expect(p.memory[0]!.readEnergyPerBitJ).toBeCloseTo(20e-12 / 64, 24);
    expect(p.memory[1]).toMatchObject({ name: 'dram', capacityBits: Number.POSITIVE_INFINITY });
    expect(p.memory[1]!.readEnergyPerBitJ).toBeCloseTo(15e-12, 24);
    expect(p.staticPowerW).toBe(0);
    expect(loadProfile('int8-systolic').staticPowerW).toBe(28);
  });

  it('the worked example of docs/hardware-model.md validates', () => {
    const doc = readFileSync('docs/hardware-model.md', 'utf8');
    const example = /```json\n([\s\S]*?)\n```/.exec(doc)![1]!;
    const p = compileProfile(JSON.parse(example), 'my-npu.json');
    expect(p.name).toBe('my-npu');
    expect(p.macThroughputPerS[0]).toBe(1024 * 4 * 800e6); // 2-bit × 2-bit
  });

  it('rejects an unknown name with the list of available ones and where it looked', () => {
    expect(() => loadProfile('tpu-v9')).toThrow(/^--profile: unknown profile "tpu-v9" \(available: bit-fusion-45nm, .*; looked in .*hw-profiles; add directories with --profiles-dir or BITCYCLE_PROFILES, or give a path to a \.json file\)$/);
  });
});

describe('bad profiles: one error naming the file and JSON path', () => {
  const base = () => shippedJson('bit-fusion-45nm');
  const cases: [string, (j: Record<string, any>) => void, string][] = [
    ['missing field', (j) => delete j.compute.macEnergy, 'my.json: $.compute.macEnergy: missing required field (expected string)'],
    ['missing clock', (j) => delete j.clock, 'my.json: $.clock: missing required field'],
    ['wrong unit', (j) => (j.compute.macEnergy = '3 ns'), 'my.json: $.compute.macEnergy: expected energy (J), got "3 ns" (time)'],
    ['wrong unit in memory', (j) => (j.memory[1].bandwidth = '15 pJ/bit'), 'my.json: $.memory[1].bandwidth: expected bandwidth (bit/s or B/s), got "15 pJ/bit" (energy per bit)'],
    ['negative value', (j) => (j.memory[0].readEnergy = '-20 pJ/bit'), 'my.json: $.memory[0].readEnergy: must be positive, got "-20 pJ/bit" = -2e-11 J/bit'],
    ['negative clock', (j) => (j.clock = '-5 MHz'), 'my.json: $.clock: must be positive'],
    ['negative expression somewhere', (j) => (j.compute.macEnergy = '(ba - 3) * 1 pJ'), 'my.json: $.compute.macEnergy: must be positive, got "(ba - 3) * 1 pJ" = -1e-12 J at ba=2, bw=2'],
    ['zero throughput', (j) => (j.compute.macThroughput = '(ba - 2) * clock'), 'my.json: $.compute.macThroughput: must be positive'],
    ['unknown function', (j) => (j.compute.macEnergy = 'frobnicate(ba) * 1 pJ'), 'my.json: $.compute.macEnergy: "frobnicate(ba) * 1 pJ": unknown or disallowed function "frobnicate"'],
    ['import', (j) => (j.compute.macThroughput = 'import({clock: 1}) * clock'), 'my.json: $.compute.macThroughput: "import({clock: 1}) * clock": unknown or disallowed function "import"'],
    ['evaluate', (j) => (j.clock = 'evaluate("500 MHz")'), 'my.json: $.clock: "evaluate(\\"500 MHz\\")": unknown or disallowed function "evaluate"'],
    ['over-long expression', (j) => (j.compute.macEnergy = `${'1 * '.repeat(60)}1 pJ`), 'my.json: $.compute.macEnergy: too long: 244 characters, at most 200 are allowed'],
    ['unknown variable', (j) => (j.compute.macEnergy = 'bg * 1 pJ'), 'my.json: $.compute.macEnergy: "bg * 1 pJ": unknown symbol "bg"'],
    ['unknown field', (j) => (j.compute.macEnergyy = '1 pJ'), 'my.json: $.compute.macEnergyy: unknown field "macEnergyy"'],
    ['wrong type', (j) => (j.memory = {}), 'my.json: $.memory: expected array, got an object'],
    // formats of one width may follow each other now (int8 and fp8): the rule is ascending widths, distinct names per width
    ['formats not ascending', (j) => (j.compute.formats = [8, 4]), 'my.json: $.compute.formats[1]: formats must be listed by ascending bit-width (4 follows 8)'],
    ['duplicate format', (j) => (j.compute.formats = [4, 8, 8]), 'my.json: $.compute.formats[2]: duplicate format "int8" (8 bits)'],
    ['duplicate format name of another kind', (j) => (j.compute.formats = [4, { name: 'x8', bits: 8 }, { name: 'x8', bits: 8, float: true }]), 'my.json: $.compute.formats[2]: duplicate format "x8" (8 bits)'],
    ['bad format entry', (j) => (j.compute.formats = [2, 'int4']), 'my.json: $.compute.formats[1]: expected an integer bit-width or {"name", "bits", "float"?}, got "int4"'],
    ['bad enum', (j) => (j.compute.operands = 'both'), 'my.json: $.compute.operands: Invalid option: expected one of "independent"|"shared" (got "both")'],
    ['inner level without capacity', (j) => delete j.memory[0].capacity, 'my.json: $.memory[0].capacity: missing required field'],
    ['division by zero', (j) => (j.compute.macEnergy = '1 pJ / (ba - 2)'), 'my.json: $.compute.macEnergy: "1 pJ / (ba - 2)" is not finite (Infinity) at ba=2, bw=2'],
    ['not an object', (j) => Object.keys(j).forEach((k) => delete j[k]), 'my.json: $.name: missing required field'],
  ];
  it.each(cases)('%s', (_label, mutate, message) => {
    const json = base();
    mutate(json);
    const err = profileError(json);
    expect(err.message).toContain(message);
    expect(err.exitCode).toBe(2);
    expect(err.file).toBe('my.json');
  });

  it('a non-object document is an error at $', () => {
    expect(profileError([1, 2]).message).toBe('my.json: $: expected object, got an array');
    expect(profileError(null).message).toBe('my.json: $: expected object, got null');
  });

  it('file problems name the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitcycle-hw-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"name": ');
    expect(() => loadProfileFile(bad)).toThrow(/bad\.json: \$: invalid JSON/);
    expect(() => loadProfile(join(dir, 'missing.json'))).toThrow(/missing\.json: \$: file not found/);
  });
});


const NASTY_STRINGS = [
  '3 ns', '-1 pJ', '0', '1e308 pJ * 1e308', '2^2^2^2^2^2 pJ', 'import({a: 1})', 'evaluate("1")', 'parse("x")', 'compile("1")', 'createUnit("zz")',
  'simplify("x")', 'derivative("x^2", "x")', 'resolve(x)', 'f(x) = x', 'x = 1', '[1, 2, 3]', '{a: 1}', 'ba ? 1 pJ : 2 pJ', '1 pJ / (ba - ba)', 'sqrt(-1) pJ',
  '"string"', '5!', 'pi pJ', 'log(0) pJ', 'NaN', 'Infinity pJ', 'ba.bw', 'max(ba, bw) pJ', 'ba pJ to J', '1 pJ to ns', 'cos(ba) pJ', '1 + ', '(((1)))', 'ba bw', 'clock',
  '1 bit/s', '15 pJ/bit', '2.04 TB/s', '112 KiB', '500 MHz', '0.2 pJ', '40 W', 'mod(ba, 0) pJ', 'ba % 0', 'pow(10, 400) pJ', 'round(ba, 1e9)', 'x'.repeat(500), '',
  'ba < bw and bw > 2', 'not 1', '1 pJ * fp', 'floor(8/ba)', '\u0000', 'ba\nbw', 'ρ pJ', '1 kg', '1 m^2 kg / s^2', 'sign(-ba) pJ',
];

function randomValue(rand: () => number): unknown {
  const r = rand();
  if (r < 0.45) return NASTY_STRINGS[Math.floor(rand() * NASTY_STRINGS.length)];
  if (r < 0.55) return Math.floor((rand() - 0.5) * 80);
  if (r < 0.6) return (rand() - 0.5) * 1e6;
  if (r < 0.65) return null;
  if (r < 0.7) return rand() < 0.5;
  if (r < 0.75) return [];
  if (r < 0.8) return {};
  if (r < 0.85) return [1, 2, 4];
  if (r < 0.9) return { name: 'x', bits: Math.floor(rand() * 70) };
  return 'y'.repeat(Math.floor(rand() * 300));
}

function pickPath(rand: () => number, root: unknown): (string | number)[] {
  const path: (string | number)[] = [];
  let node: unknown = root;
  while (node !== null && typeof node === 'object' && rand() < 0.75) {
    const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0) break;
    const key = keys[Math.floor(rand() * keys.length)]!;
    path.push(key);
    node = (node as Record<string | number, unknown>)[key];
  }
  return path;
}

function mutate(rand: () => number, json: any): any {
  const path = pickPath(rand, json);
  if (path.length === 0) return rand() < 0.5 ? json : randomValue(rand);
  let parent = json;
  for (const key of path.slice(0, -1)) parent = parent[key];
  const key = path[path.length - 1]!;
  const r = rand();
  if (r < 0.25) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (r < 0.6) {
    parent[key] = randomValue(rand);
  } else if (r < 0.8 && typeof parent[key] === 'string') {
    const s: string = parent[key];
    const at = Math.floor(rand() * (s.length + 1));
    const insert = [' ', '*', '/', '(', ')', '-', 'e', '9', 'pJ', 'bit', ' import(1)', ',', '?', ':', '^', '!', '.', 'ba', 'zz'][Math.floor(rand() * 19)]!;
    parent[key] = rand() < 0.5 ? s.slice(0, at) + insert + s.slice(at) : s.slice(0, at) + s.slice(at + 1);
  } else if (r < 0.9) {
    if (Array.isArray(parent)) parent.push(structuredClone(parent[0]));
    else parent[`extra${Math.floor(rand() * 3)}`] = randomValue(rand);
  } else {
    parent[key] = structuredClone(json);
  }
  return json;
}

describe('fuzzing the profile compiler', () => {
  it('1,200 mutated profiles each validate or fail with a ProfileError (seeded, deterministic)', () => {
    const rand = mulberry32(20_261_123);
    const bases = SHIPPED.map(shippedJson);
    let valid = 0;
    let invalid = 0;
    for (let i = 0; i < 1200; i++) {
      let json = structuredClone(bases[i % bases.length]);
      const mutations = 1 + Math.floor(rand() * 3);
      for (let m = 0; m < mutations; m++) json = mutate(rand, json);
      json = JSON.parse(JSON.stringify(json) ?? 'null');
      try {
        const p = compileProfile(json, `fuzz-${i}.json`);
        expect(p.formats.length).toBeGreaterThan(0);
        valid++;
      } catch (err) {
        if (!(err instanceof ProfileError)) throw new Error(`mutant ${i} crashed with ${String(err)}:\n${JSON.stringify(json).slice(0, 2000)}`);
        expect(err.message).toMatch(new RegExp(`^fuzz-${i}\\.json: \\$`));
        expect(hasUnsafeCharacters(err.message), err.message).toBe(false);
        invalid++;
      }
    }
    expect(valid + invalid).toBe(1200);
    expect(valid).toBeGreaterThan(50);
    expect(invalid).toBeGreaterThan(500);
  });
});

describe('reachable values: every quantity and every per-MAC cost a run can ask for', () => {
  const base = () => shippedJson('bit-fusion-45nm');
  const refused: [string, (j: Record<string, any>) => void, string][] = [
    ['throughput 1e-300 Hz', (j) => (j.compute.macThroughput = '1e-300 Hz'), '$.compute.macThroughput: must be between 1 and 1e24 MAC/s, got "1e-300 Hz" = 1e-300 MAC/s at ba=2, bw=2'],
    ['throughput 1e308 GHz', (j) => (j.compute.macThroughput = '1e308 GHz'), '$.compute.macThroughput: "1e308 GHz" is not finite (Infinity) at ba=2, bw=2; must be between 1 and 1e24 MAC/s'],
    ['throughput above 1e24', (j) => (j.compute.macThroughput = '1.5e24 Hz'), '$.compute.macThroughput: must be between 1 and 1e24 MAC/s, got "1.5e24 Hz" = 1.5e24 MAC/s at ba=2, bw=2'],
    ['energy 1.7e308 pJ', (j) => (j.compute.macEnergy = '1.7e308 pJ'), '$.compute.macEnergy: must be between 1e-24 and 0.001 J, got "1.7e308 pJ" = 1.7e296 J at ba=2, bw=2'],
    ['energy 5e-324 J', (j) => (j.compute.macEnergy = '5e-324 J'), '$.compute.macEnergy: must be between 1e-24 and 0.001 J, got "5e-324 J" = 4.941e-324 J at ba=2, bw=2'],
    ['energy 0 pJ', (j) => (j.compute.macEnergy = '0 pJ'), '$.compute.macEnergy: must be positive, got "0 pJ" = 0 J at ba=2, bw=2'],
    ['energy zero at one pair only', (j) => (j.compute.macEnergy = '(ba == 8 ? 0 : 1) pJ'), '$.compute.macEnergy: must be positive, got "(ba == 8 ? 0 : 1) pJ" = 0 J at ba=8, bw=2'],
    ['clock 1e-300 Hz', (j) => (j.clock = '1e-300 Hz'), '$.clock: must be between 1 and 1e15 Hz, got "1e-300 Hz" = 1e-300 Hz'],
    ['clock 1e308 GHz', (j) => (j.clock = '1e308 GHz'), '$.clock: "1e308 GHz" is not finite (Infinity); must be between 1 and 1e15 Hz'],
    ['bandwidth 1e-300 B/s', (j) => (j.memory[1].bandwidth = '1e-300 B/s'), '$.memory[1].bandwidth: must be between 1 and 1e24 bit/s, got "1e-300 B/s" = 8e-300 bit/s'],
    ['bandwidth 1e308 TB/s', (j) => (j.memory[1].bandwidth = '1e308 TB/s'), '$.memory[1].bandwidth: "1e308 TB/s" is not finite (Infinity); must be between 1 and 1e24 bit/s'],
    ['capacity 0.1 bit', (j) => (j.memory[0].capacity = '0.1 bit'), '$.memory[0].capacity: must be between 1 and 1e24 bit, got "0.1 bit" = 0.1 bit'],
    ['capacity 1e30 TB', (j) => (j.memory[0].capacity = '1e30 TB'), '$.memory[0].capacity: must be between 1 and 1e24 bit, got "1e30 TB" = 8e42 bit'],
    ['read energy 0', (j) => (j.memory[0].readEnergy = '0 pJ/bit'), '$.memory[0].readEnergy: must be positive, got "0 pJ/bit" = 0 J/bit'],
    ['write energy 1 J/bit', (j) => (j.memory[1].writeEnergy = '1 J/bit'), '$.memory[1].writeEnergy: must be between 1e-24 and 0.001 J/bit, got "1 J/bit" = 1 J/bit'],
    ['static power 1e308 W', (j) => (j.staticPower = '1e308 W'), '$.staticPower: must be 0 or between 1e-12 and 1e9 W, got "1e308 W" = 1e308 W'],
    ['static power 5e-324 W', (j) => (j.staticPower = '5e-324 W'), '$.staticPower: must be 0 or between 1e-12 and 1e9 W, got "5e-324 W" = 4.941e-324 W'],
    [
      'multipass makes a 1-bit datapath too slow for wide operands',
      (j) => {
        j.compute.formats = [1];
        j.compute.macEnergy = '1 pJ';
        j.compute.macThroughput = '100 Hz';
      },
      // 4 × 26 bits = 104 passes of the 1-bit datapath: 100/104 MAC/s, the first pair below 1 MAC/s
      '$.compute.macThroughput: must be between 1 and 1e24 MAC/s, got 0.9615 MAC/s for 4-bit × 26-bit operands (104 passes of int1 × int1; e.g. the forward GEMM of a step at w/a/g = 26/4/8)',
    ],
    [
      'multipass makes a MAC too expensive for wide operands',
      (j) => {
        j.compute.formats = [8];
        j.compute.macEnergy = '0.3 mJ';
        j.compute.macThroughput = '1 GHz';
      },
      // 1 × 25 bits: 4 slices of the 25-bit operand, 4 passes of 0.3 mJ
      '$.compute.macEnergy: must be between 1e-24 and 0.001 J per MAC, got 0.0012 J for 1-bit × 25-bit operands (4 passes of int8 × int8; e.g. the forward GEMM of a step at w/a/g = 25/1/8)',
    ],
  ];
  it.each(refused)('%s', (_label, mutate, message) => {
    const json = base();
    mutate(json);
    const err = profileError(json);
    expect(err.message).toBe(`my.json: ${message}`);
    expect(err.exitCode).toBe(2);
  });

  it('accepts values at the edges of the ranges, zero static power, and a slow datapath whose grid stays reachable', () => {
    const json = base();
    json.compute.macEnergy = '1e-24 J';
    json.compute.macThroughput = '1e24 Hz';
    json.memory[1].bandwidth = '1 bit/s';
    json.memory[0].readEnergy = '1e-3 J/bit';
    json.staticPower = '0 W';
    const p = compileProfile(json, 'edge.json');
    expect(p.macEnergyJ[0]).toBe(1e-24);
    expect(p.staticPowerW).toBe(0);
    // 32 × 32 bits on a 1-bit datapath: 1024 passes of 1024 MAC/s = 1 MAC/s, just reachable
    const slow = base();
    slow.compute.formats = [1];
    slow.compute.macThroughput = '1024 Hz';
    slow.compute.macEnergy = '1e-3 J / 1024';
    expect(compileProfile(slow, 'slow.json').formats).toHaveLength(1);
    slow.compute.macThroughput = '1023 Hz';
    expect(profileError(slow).message).toContain('for 32-bit × 32-bit operands (1024 passes of int1 × int1');
  });

  it('floating-point operands are checked too on a profile with formats of both kinds, and the message names the kinds', () => {
    // fp4 and int8 (independent): an integer operand wider than 8 bits runs in int8 slices, and
    // beside an fp4 operand each pass costs 0.3 mJ (fp = 1), so 4 passes are out of range
    const json = base();
    json.compute.formats = [4, { name: 'fp4', bits: 4, float: true }, 8];
    json.compute.macEnergy = '(fp ? 0.3 mJ : 1 pJ)';
    json.compute.macThroughput = '1 GHz';
    expect(profileError(json).message).toBe(
      'my.json: $.compute.macEnergy: must be between 1e-24 and 0.001 J per MAC, got 0.0012 J for 25-bit integer × 1-bit floating-point operands ' +
        '(4 passes of int8 × fp4; e.g. the forward GEMM of a step at w/a/g = f1/25/8)',
    );
    // integer operands alone would have been fine, and so is a profile of one kind (an operand of the other kind falls back)
    json.compute.formats = [4, 8];
    expect(compileProfile(json, 'one-kind.json').formats).toHaveLength(2);
  });

  it('formats of one width differ by kind or name: int8 and fp8, fp16 and bf16; a bare N is intN', () => {
    const json = base();
    json.compute.formats = [4, 8, { name: 'fp8', bits: 8, float: true }, { name: 'fp16', bits: 16, float: true }, { name: 'bf16', bits: 16, float: true }];
    json.compute.operands = 'shared';
    json.compute.macEnergy = '(fp ? 2 : 1) * 0.1 pJ * ba / 8';
    json.compute.macThroughput = '1 THz';
    const p = compileProfile(json, 'kinds.json');
    expect(p.formats).toEqual([
      { name: 'int4', bits: 4, float: false },
      { name: 'int8', bits: 8, float: false },
      { name: 'fp8', bits: 8, float: true },
      { name: 'fp16', bits: 16, float: true },
      { name: 'bf16', bits: 16, float: true },
    ]);
    const n = p.formats.length;
    expect([1, 2, 3, 4].map((i) => p.macEnergyJ[i * n + i])).toEqual([0.1e-12, 0.2e-12, 0.4e-12, 0.4e-12]);
    // an expression that fails at a floating-point pair says fp=1
    json.compute.macEnergy = '(fp ? 0 : 1) pJ';
    expect(profileError(json).message).toBe('my.json: $.compute.macEnergy: must be positive, got "(fp ? 0 : 1) pJ" = 0 J at ba=8, bw=8, fp=1');
  });

  it('with aboveMax "reject" only the bit-widths the datapath accepts are checked', () => {
    const json = base();
    json.compute.formats = [1];
    json.compute.macThroughput = '100 Hz';
    json.compute.aboveMax = 'reject';
    const p = compileProfile(json, 'strict.json');
    expect(operandBitsLimit(p)).toBe(1);
  });

  it('the limits say what they are in', () => {
    expect(LIMITS.macThroughput).toMatchObject({ min: 1, max: 1e24, unit: 'MAC/s' });
    expect(LIMITS.staticPower.zero).toBe(true);
    expect(LIMITS.macEnergy.zero).toBe(false);
  });
});

describe('error messages are one line whatever the input holds', () => {
  const base = () => shippedJson('bit-fusion-45nm');
  const cases: [string, (j: Record<string, any>) => void, string][] = [
    ['newline in an expression', (j) => (j.compute.macEnergy = '1 pJ\n2 pJ'), '$.compute.macEnergy: "1 pJ\\n2 pJ": block expressions are not allowed'],
    ['escape sequence in an expression', (j) => (j.clock = '\u001b[2J500 MHz'), '$.clock: cannot parse "\\u001b[2J500 MHz"'],
    ['newline in an unknown key', (j) => (j['evil\nkey'] = 1), '$["evil\\nkey"]: unknown field "evil\\nkey"'],
    ['bidi override in a level name', (j) => (j.memory[1].name = j.memory[0].name = 'sr\u202eam'), '$.memory[1].name: duplicate level name "sr\\u202eam"'],
    ['newline in the name', (j) => (j.name = 'my\nnpu'), '$.name: expected letters, digits, ".", "_" and "-", starting with a letter or digit, got "my\\nnpu"'],
    ['newline in an enum value', (j) => (j.compute.operands = 'shared\n'), '$.compute.operands: Invalid option: expected one of "independent"|"shared" (got "shared\\n")'],
    ['newline inside an expression that then does not parse', (j) => (j.memory[0].bandwidth = '4096 bit\n* clock'), '$.memory[0].bandwidth: cannot parse "4096 bit\\n* clock": Value expected (char 10)'],
  ];
  it.each(cases)('%s', (_label, mutate, message) => {
    const json = base();
    mutate(json);
    const err = profileError(json);
    expect(err.message).toContain(message);
    expect(err.message.split('\n')).toHaveLength(1);
    expect(hasUnsafeCharacters(err.message)).toBe(false);
  });

  it('a file name with control characters is shown escaped', () => {
    const err = profileError({ ...base(), clock: '-1 Hz' }, 'a\nb\u001b.json');
    expect(err.message).toBe('a\\nb\\x1b.json: $.clock: must be positive, got "-1 Hz" = -1 Hz');
  });

  it('invalid JSON is one line too', () => {
    expect(() => compileProfileText('{\n  "name": "x",\n  oops\n}', 'x.json')).toThrow(/^x\.json: \$: invalid JSON: [^\n]*$/);
  });
});

describe('profile directories (--profiles-dir, BITCYCLE_PROFILES)', () => {
  function tree(): { root: string; a: string; b: string } {
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'bitcycle-dirs-')));
    const a = join(root, 'a');
    const b = join(root, 'b');
    mkdirSync(a);
    mkdirSync(b);
    const mine = shippedJson('horowitz-45nm');
    writeFileSync(join(a, 'mine.json'), JSON.stringify({ ...mine, name: 'mine', description: 'from a' }));
    writeFileSync(join(b, 'mine.json'), JSON.stringify({ ...mine, name: 'mine', description: 'from b' }));
    writeFileSync(join(b, 'gpu-a100.json'), JSON.stringify({ ...shippedJson('gpu-a100'), description: 'my own a100' }));
    writeFileSync(join(b, 'schema.json'), '{}');
    writeFileSync(join(b, 'README.md'), '# not a profile');
    mkdirSync(join(b, 'folder.json'));
    return { root, a, b };
  }

  it('flag directories come first, then the variable, then the shipped ones; duplicates dropped', () => {
    const { a, b } = tree();
    const dirs = profileDirs(`${a}${delimiter}${b}`, { BITCYCLE_PROFILES: `${b}${delimiter}${delimiter}${a}` });
    expect(dirs).toEqual([a, b, shippedProfilesDir()]);
    expect(profileDirs(undefined, { BITCYCLE_PROFILES: b })).toEqual([b, shippedProfilesDir()]);
    expect(profileDirs(undefined, {})).toEqual([shippedProfilesDir()]);
  });

  it('relative directories are resolved against the working directory', () => {
    expect(profileDirs('hw-profiles', {})).toEqual([resolve('hw-profiles')]);
  });

  it('a missing or non-directory entry is a UsageError naming the flag or the variable', () => {
    const { root } = tree();
    const missing = join(root, 'nope');
    expect(() => profileDirs(missing, {})).toThrow(UsageError);
    expect(() => profileDirs(missing, {})).toThrow(`--profiles-dir: "${missing}": no such directory (profile directories must exist and be readable)`);
    expect(() => profileDirs(undefined, { BITCYCLE_PROFILES: missing })).toThrow(`BITCYCLE_PROFILES: "${missing}": no such directory`);
    writeFileSync(join(root, 'file'), 'x');
    expect(() => profileDirs(join(root, 'file'), {})).toThrow('not a directory');
    expect(() => profileDirs('', {})).toThrow('--profiles-dir: expected a directory, got an empty value');
  });

  it('availableProfiles: custom first, earlier directories shadow later ones, only *.json files but schema.json', () => {
    const { a, b } = tree();
    const list = availableProfiles([a, b, shippedProfilesDir()]);
    expect(list.slice(0, 2)).toEqual([
      { name: 'mine', path: join(a, 'mine.json'), shipped: false },
      { name: 'gpu-a100', path: join(b, 'gpu-a100.json'), shipped: false },
    ]);
    expect(list.slice(2).map((p) => p.name)).toEqual(SHIPPED.filter((n) => n !== 'gpu-a100'));
    expect(list.slice(2).every((p) => p.shipped)).toBe(true);
    expect(list.map((p) => p.name)).not.toContain('schema');
    expect(list.map((p) => p.name)).not.toContain('folder');
  });

  it('loadProfile resolves names through the directories, the first match winning', () => {
    const { a, b } = tree();
    expect(loadProfile('mine', '--profile', [a, b]).description).toBe('from a');
    expect(loadProfile('mine', '--profile', [b, a]).description).toBe('from b');
    expect(loadProfile('gpu-a100', '--profile', [b, shippedProfilesDir()]).description).toBe('my own a100');
    expect(loadProfile('gpu-a100', '--profile', [a, shippedProfilesDir()]).description).toMatch(/^NVIDIA A100/);
    const err = (() => {
      try {
        loadProfile('tpu', '--profile', [a, shippedProfilesDir()]);
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected an error');
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(/^--profile: unknown profile "tpu" \(available: mine, bit-fusion-45nm, .*; looked in .*a, .*hw-profiles; /);
    expect(err.message.split('\n')).toHaveLength(1);
  });

  it('a symlinked profile is listed and loads', () => {
    const { a } = tree();
    symlinkSync(join(shippedProfilesDir(), 'int8-systolic.json'), join(a, 'tpu.json'));
    expect(availableProfiles([a]).map((p) => p.name)).toEqual(['mine', 'tpu']);
    expect(loadProfile('tpu', '--profile', [a]).name).toBe('int8-systolic');
  });
});

describe('profile sources for content-addressed copies', () => {
  it('readProfileSource returns the exact text, its SHA-256 and the absolute path', () => {
    const path = join(shippedProfilesDir(), 'gpu-h100.json');
    const bytes = readFileSync(path);
    const src = readProfileSource('gpu-h100');
    expect(src.origin).toBe(path);
    expect(src.text).toBe(bytes.toString('utf8'));
    expect(src.digest).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(src.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(profileDigest(src.text)).toBe(src.digest);
    expect(src.profile.name).toBe('gpu-h100');
    // the copy compiles to the same profile
    const copy = compileProfileText(src.text, `profile-${src.digest.slice(0, 12)}.json`);
    expect(copy.file).toBe(`profile-${src.digest.slice(0, 12)}.json`);
    expect({ ...copy, file: '' }).toEqual({ ...src.profile, file: '' });
  });

  it('keeps the bytes of a file with a byte-order mark and non-ASCII text', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitcycle-src-'));
    const file = join(dir, 'bom.json');
    const json = { ...shippedJson('bit-fusion-45nm'), description: 'Grüße — 45 nm µarch' };
    writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(json, null, 2), 'utf8')]));
    const src = readProfileSource(file);
    expect(Buffer.from(src.text, 'utf8').equals(readFileSync(file))).toBe(true);
    expect(src.digest).toBe(createHash('sha256').update(readFileSync(file)).digest('hex'));
    expect(src.profile.description).toBe('Grüße — 45 nm µarch');
    expect(compileProfileText(src.text, 'copy.json').description).toBe('Grüße — 45 nm µarch');
  });

  it('refuses what cannot be copied faithfully or is no profile file, naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitcycle-src-'));
    const latin1 = join(dir, 'latin1.json');
    writeFileSync(latin1, Buffer.from('{"name": "caf\xe9"}', 'latin1'));
    expect(() => readProfileSource(latin1)).toThrow(/latin1\.json: \$: not valid UTF-8 text$/);
    const big = join(dir, 'big.json');
    writeFileSync(big, ' '.repeat((1 << 20) + 1));
    expect(() => readProfileSource(big)).toThrow(/big\.json: \$: file is 1048577 bytes, a profile may have at most 1048576$/);
    mkdirSync(join(dir, 'd.json'));
    expect(() => readProfileSource(join(dir, 'd.json'))).toThrow(/d\.json: \$: is a directory, not a profile file$/);
    expect(() => readProfileSource(join(dir, 'missing.json'))).toThrow(ProfileError);
    expect(() => readProfileSource('no-such-profile')).toThrow(UsageError);
    expect(() => compileProfileText('{"name": 1}', 'copy.json')).toThrow('copy.json: $.name: expected string, got 1');
  });
});

describe('JSON Schema files and validateProfile', () => {
  it('recognises a JSON Schema by name or by content', () => {
    expect(isJsonSchemaDocument({}, '/x/schema.json')).toBe(true);
    expect(isJsonSchemaDocument({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' }, 'other.json')).toBe(true);
    expect(isJsonSchemaDocument({ $schema: './schema.json', name: 'x' }, 'mine.json')).toBe(false);
    expect(isJsonSchemaDocument({ type: 'object' }, 'other.json')).toBe(false);
    expect(isJsonSchemaDocument([1], 'other.json')).toBe(false);
  });

  it('validateProfile reports ok, skipped and failed without throwing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitcycle-val-'));
    const schema = join(dir, 'profile-schema.json');
    writeFileSync(schema, JSON.stringify(profileJsonSchema()));
    expect(validateProfile(schema)).toMatchObject({ status: 'skipped', reason: 'a JSON Schema, not a profile' });
    expect(validateProfile(join(shippedProfilesDir(), 'schema.json')).status).toBe('skipped');
    expect(validateProfile('gpu-a100')).toMatchObject({ status: 'ok', profile: { name: 'gpu-a100' } });
    const bad = validateProfile(join(dir, 'missing.json'));
    expect(bad.status).toBe('failed');
    expect(bad.status === 'failed' && bad.error.message).toMatch(/missing\.json: \$: file not found$/);
    expect(validateProfile('nope').status).toBe('failed');
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzzing with dimension-correct extreme values: every profile either fails with a one-line
// ProfileError naming a JSON path, or costs every realistic step finitely and positively.

const EXTREMES: Record<string, string[]> = {
  frequency: ['1e-300 Hz', '5e-324 Hz', '0 Hz', '-1 GHz', '1e308 GHz', '1.7e308 Hz', '1e15 Hz', '1.01e15 Hz', '1 Hz', '0.99 Hz', '1 mHz', '1 PHz', '10 THz', '1e-30 GHz', '800 MHz'],
  energy: [
    '1.7e308 pJ', '5e-324 J', '0 pJ', '-0 pJ', '1e-300 J', '1e-24 J', '9e-25 J', '1 mJ', '1.1 mJ', '1e300 J', '1e-6 fJ', '5 pJ * ba * bw',
    '1e-30 J * ba', '1e-3 J / (ba * bw)', '1e-9 J * ba * bw', '0.2 pJ * ba * bw / 64', '1e-24 J * ba * bw', '0.9 mJ',
  ],
  rate: ['1e-300 Hz', '1e308 GHz', '0 Hz', '1 Hz', '1e24 Hz', '1.1e24 Hz', '0.5 Hz', '1 / (1e300 s)', '1e-6 * clock', '1e30 * clock', '100 Hz', '2 kHz', '1e9 Hz / (ba * bw)', '512 * clock', '1024 Hz'],
  data: ['0 bit', '0.5 bit', '1 bit', '1e24 bit', '1.2e24 bit', '1e308 B', '5e-324 bit', '1e30 TB', '1 B', '1 GB', '1e21 B', '112 KiB'],
  energyPerBit: ['0 pJ/bit', '5e-324 J/bit', '1.7e308 pJ/bit', '1e-24 J/bit', '1e-25 J / bit', '1 mJ/bit', '2 mJ/bit', '1e300 J/bit', '-1 pJ/bit', '1e-6 fJ / bit', '15 pJ/bit'],
  bandwidth: ['1e-300 B/s', '5e-324 bit/s', '1 bit/s', '0.5 bit/s', '1e24 bit/s', '1e308 TB/s', '0 B/s', '1e30 bit * clock', '1e-30 bit * clock', '1 B/s', '25.6 GB/s'],
  power: ['0 W', '5e-324 W', '1e-12 W', '1e-13 W', '1e9 W', '1.1e9 W', '1e308 W', '1.7e308 GW', '1 GW', '-1 W', '60 W'],
};

/** Every quantity field of a profile, with its dimension. */
function quantityFields(json: Record<string, any>): { path: (string | number)[]; dimension: keyof typeof EXTREMES }[] {
  const fields: { path: (string | number)[]; dimension: keyof typeof EXTREMES }[] = [
    { path: ['clock'], dimension: 'frequency' },
    { path: ['compute', 'macEnergy'], dimension: 'energy' },
    { path: ['compute', 'macThroughput'], dimension: 'rate' },
    { path: ['staticPower'], dimension: 'power' },
  ];
  (json.memory as unknown[]).forEach((_, i) => {
    fields.push({ path: ['memory', i, 'capacity'], dimension: 'data' });
    fields.push({ path: ['memory', i, 'readEnergy'], dimension: 'energyPerBit' });
    fields.push({ path: ['memory', i, 'writeEnergy'], dimension: 'energyPerBit' });
    fields.push({ path: ['memory', i, 'bandwidth'], dimension: 'bandwidth' });
  });
  return fields;
}

const FORMAT_CHOICES: unknown[] = [[1], [1, 2, 4], [8], [64], [2, 4, 8], [{ name: 'fp8', bits: 8, float: true }, { name: 'bf16', bits: 16, float: true }], [3, 33]];

/** Realistic workloads: the smallest (mlp, batch 1) and the three biggest layers of resnet-50 at batch 2^20. */
const WORKLOADS = (() => {
  const r50 = getModelLayers('resnet-50');
  const macs = (l: (typeof r50)[number]) => l.positions * l.inFeatures * l.outFeatures;
  const biggest = [...r50].sort((x, y) => macs(y) - macs(x) || (y.inputElements - x.inputElements)).slice(0, 3);
  return [
    { layers: getModelLayers('mlp'), batch: 1 },
    { layers: [r50[0]!, ...biggest, r50[r50.length - 1]!], batch: 1 << 20 },
  ];
})();

/** (w, a, g) tuples a run can ask for: schedules of 1..32 bits, errors 1..32, static:32 baselines. */
const TUPLES: [number, number, number][] = [];
for (const wa of [1, 2, 3, 4, 5, 8, 12, 16, 24, 32]) for (const g of [1, 8, 32]) TUPLES.push([wa, wa, g]);
TUPLES.push([32, 1, 8], [1, 32, 8], [7, 31, 2]);

function positiveFinite(value: number, what: string): void {
  // the profile's index is in `what`: rerun with the same seed to see it
  if (!(Number.isFinite(value) && value > 0)) throw new Error(`${what} is ${value}`);
}

describe('fuzzing the profile compiler with dimension-correct extreme values', () => {
  it('600 profiles: each is refused with a one-line ProfileError naming a $ path, or costs every step finitely and positively', () => {
    const rand = mulberry32(42_2026);
    const bases = SHIPPED.map(shippedJson);
    let accepted = 0;
    const refusals = { range: 0, grid: 0, other: 0 };
    for (let i = 0; i < 600; i++) {
      const json = structuredClone(bases[i % bases.length]!);
      const fields = quantityFields(json);
      const changes = 1 + Math.floor(rand() * 3);
      for (let c = 0; c < changes; c++) {
        const field = fields[Math.floor(rand() * fields.length)]!;
        const pool = EXTREMES[field.dimension]!;
        let parent: any = json;
        for (const key of field.path.slice(0, -1)) parent = parent[key];
        parent[field.path[field.path.length - 1]!] = pool[Math.floor(rand() * pool.length)];
      }
      if (rand() < 0.3) json.compute.formats = structuredClone(FORMAT_CHOICES[Math.floor(rand() * FORMAT_CHOICES.length)]);
      if (rand() < 0.2) json.compute.aboveMax = 'reject';
      if (rand() < 0.2) json.compute.operands = json.compute.operands === 'shared' ? 'independent' : 'shared';
      const file = `extreme-${i}.json`;
      let profile;
      try {
        profile = compileProfile(json, file);
      } catch (err) {
        if (!(err instanceof ProfileError)) throw new Error(`profile ${i} crashed with ${String(err)}: ${JSON.stringify(json)}`);
        expect(err.message).toMatch(new RegExp(`^extreme-${i}\\.json: \\$[.\\[]`));
        expect(err.message.split('\n')).toHaveLength(1);
        expect(hasUnsafeCharacters(err.message)).toBe(false);
        if (err.message.includes('operands (')) refusals.grid++;
        else if (/must be (0 or )?between|not finite|must be positive/.test(err.message)) refusals.range++;
        else refusals.other++;
        continue;
      }
      accepted++;
      const limit = operandBitsLimit(profile);
      const tuples = TUPLES.filter((t) => Math.max(...t) <= limit);
      for (const { layers, batch } of WORKLOADS) {
        const model = createCostModel(profile, layers, batch);
        for (const [w, a, g] of tuples) {
          const b = model.breakdown(w, a, g);
          const at = `profile ${i} at ${w}/${a}/${g}, batch ${batch}`;
          positiveFinite(b.energyJ, `energy ${at}`);
          positiveFinite(b.latencyS, `latency ${at}`);
          positiveFinite(b.bitops, `BitOPs ${at}`);
          positiveFinite(b.computeEnergyJ, `compute energy ${at}`);
          positiveFinite(b.memoryEnergyJ, `memory energy ${at}`);
          positiveFinite(b.computeLatencyS, `compute latency ${at}`);
          expect(Number.isFinite(b.staticEnergyJ) && b.staticEnergyJ >= 0).toBe(true);
        }
        // a whole run as the tally sums it: 1e9 steps of the widest tuple, and a training tally with its baseline
        const top = Math.min(32, limit);
        const run = tallyBitTuples(model, [{ bitsWeights: top, bitsActivations: top, bitsGrad: Math.min(8, top), count: 1e9 }]);
        positiveFinite(run.energyJ, `run energy of profile ${i}`);
        positiveFinite(run.latencyS, `run latency of profile ${i}`);
        const tally = new CostTally(model, makeSchedule(`static:${top}`), 4);
        tally.add([1, 2, 3, 4].map((step) => ({ step, bitsWeights: Math.min(step, top), bitsActivations: Math.min(step, top), bitsGrad: Math.min(8, top) })));
        const totals = tally.totals();
        for (const v of [totals.energyJ, totals.latencyS, totals.bitops, totals.baseline.energyJ, totals.baseline.latencyS]) positiveFinite(v, `tally of profile ${i}`);
        for (const v of Object.values(totals.savings)) expect(Number.isFinite(v)).toBe(true);
      }
    }
    // both outcomes are well represented, and the new checks do refuse profiles
    expect(accepted).toBeGreaterThan(80);
    expect(refusals.range).toBeGreaterThan(200);
    expect(refusals.grid).toBeGreaterThan(0);
  });
});

/** Seeded draws in [0, 1) (the project's generator, src/util/random.ts). */
function mulberry32(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}
