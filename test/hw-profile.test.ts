import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProfileError } from '../src/errors.js';
import { compileProfile, loadProfile, loadProfileFile, profileJsonSchema, shippedProfileNames, shippedProfilesDir } from '../src/hw/index.js';

const SHIPPED = ['bit-fusion-45nm', 'bit-serial-stripes', 'gpu-a100', 'gpu-h100', 'horowitz-45nm', 'int8-systolic', 'loom-bit-serial'];

function shippedJson(name: string): Record<string, any> {
  return JSON.parse(readFileSync(join(shippedProfilesDir(), `${name}.json`), 'utf8'));
}

function profileError(json: unknown): ProfileError {
  try {
    compileProfile(json, 'my.json');
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

  it('rejects an unknown name with the list of shipped ones', () => {
    expect(() => loadProfile('tpu-v9')).toThrow(/--profile: unknown profile "tpu-v9" \(shipped: bit-fusion-45nm, .*\)/);
  });
});

describe('bad profiles: one error naming the file and JSON path', () => {
  const base = () => shippedJson('bit-fusion-45nm');
  const cases: [string, (j: Record<string, any>) => void, string][] = [
    ['missing field', (j) => delete j.compute.macEnergy, 'my.json: $.compute.macEnergy: missing required field (expected string)'],
    ['missing clock', (j) => delete j.clock, 'my.json: $.clock: missing required field'],
    ['wrong unit', (j) => (j.compute.macEnergy = '3 ns'), 'my.json: $.compute.macEnergy: expected energy (J), got "3 ns" (time)'],
    ['wrong unit in memory', (j) => (j.memory[1].bandwidth = '15 pJ/bit'), 'my.json: $.memory[1].bandwidth: expected bandwidth (bit/s or B/s), got "15 pJ/bit" (energy per bit)'],
    ['negative value', (j) => (j.memory[0].readEnergy = '-20 pJ/bit'), 'my.json: $.memory[0].readEnergy: must be zero or positive, got "-20 pJ/bit"'],
    ['negative clock', (j) => (j.clock = '-5 MHz'), 'my.json: $.clock: must be positive'],
    ['negative expression somewhere', (j) => (j.compute.macEnergy = '(ba - 3) * 1 pJ'), 'my.json: $.compute.macEnergy: must be zero or positive, got "(ba - 3) * 1 pJ" = -1e-12 at ba=2, bw=2'],
    ['zero throughput', (j) => (j.compute.macThroughput = '(ba - 2) * clock'), 'my.json: $.compute.macThroughput: must be positive'],
    ['unknown function', (j) => (j.compute.macEnergy = 'frobnicate(ba) * 1 pJ'), 'my.json: $.compute.macEnergy: "frobnicate(ba) * 1 pJ": unknown or disallowed function "frobnicate"'],
    ['import', (j) => (j.compute.macThroughput = 'import({clock: 1}) * clock'), 'my.json: $.compute.macThroughput: "import({clock: 1}) * clock": unknown or disallowed function "import"'],
    ['evaluate', (j) => (j.clock = 'evaluate("500 MHz")'), 'my.json: $.clock: "evaluate(\"500 MHz\")": unknown or disallowed function "evaluate"'],
    ['over-long expression', (j) => (j.compute.macEnergy = `${'1 * '.repeat(60)}1 pJ`), 'my.json: $.compute.macEnergy: too long: 244 characters, at most 200 are allowed'],
    ['unknown variable', (j) => (j.compute.macEnergy = 'bg * 1 pJ'), 'my.json: $.compute.macEnergy: "bg * 1 pJ": unknown symbol "bg"'],
    ['unknown field', (j) => (j.compute.macEnergyy = '1 pJ'), 'my.json: $.compute.macEnergyy: unknown field "macEnergyy"'],
    ['wrong type', (j) => (j.memory = {}), 'my.json: $.memory: expected array, got an object'],
    ['formats not ascending', (j) => (j.compute.formats = [8, 4]), 'my.json: $.compute.formats[1]: formats must have ascending, distinct bit-widths'],
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

/** Small deterministic PRNG (mulberry32). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
        invalid++;
      }
    }
    expect(valid + invalid).toBe(1200);
    expect(valid).toBeGreaterThan(50);
    expect(invalid).toBeGreaterThan(500);
  });
});
