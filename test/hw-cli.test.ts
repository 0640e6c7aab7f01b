import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMain } from './helpers/cli.js';

/** `bitcycle ARGS` in this process (see runMain), from the repository root. */
async function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return cliEnv({}, ...args);
}

/** `bitcycle ARGS` with extra environment variables (BITCYCLE_PROFILES is unset unless given). */
async function cliEnv(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await runMain(args, { env: { NO_COLOR: '1', BITCYCLE_PROFILES: undefined, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'bitcycle-cli-'));
}

/** A shipped profile's JSON, changed by `edit`, written to `dir/file`; returns the path. */
function writeProfile(dir: string, file: string, from: string, edit: (j: Record<string, any>) => void = () => {}): string {
  const json = JSON.parse(readFileSync(`hw-profiles/${from}.json`, 'utf8'));
  edit(json);
  const path = join(dir, file);
  writeFileSync(path, JSON.stringify(json));
  return path;
}

/** The one line a failing command prints: exit code 2, nothing else on stderr. */
function oneErrorLine(r: { code: number | null; stderr: string }): string {
  expect(r.code).toBe(2);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^bitcycle: /);
  return lines[0]!;
}

describe('bitcycle estimate', () => {
  it('--json prints exactly one JSON object with run, baseline and savings', async () => {
    const r = await cli('estimate', '--model', 'resnet-74', '--schedule', 'cpt:3-8', '--grad-bits', '8', '--iterations', '64000', '--batch-size', '128', '--profile', 'bit-fusion-45nm', '--baseline', 'static:8', '--json');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]!);
    for (const key of ['energyJ', 'latencyS', 'bitops']) {
      expect(out[key]).toBeGreaterThan(0);
      expect(out.baseline[key]).toBeGreaterThan(out[key]);
    }
    expect(Math.abs(out.savings.bitopsPct - 36.67)).toBeLessThan(0.1);
    expect(out.savings.energyPct).toBeGreaterThan(0);
    expect(out.savings.latencyPct).toBeGreaterThan(0);
    expect(Object.keys(out.phases)).toEqual(['forward', 'inputGrad', 'weightGrad']);
    expect(out).toMatchObject({ model: 'resnet-74', profile: 'bit-fusion-45nm', schedule: 'cpt:3-8', baselineSchedule: 'static:8', iterations: 64000, batchSize: 128, gradBits: 8 });
    expect(out.layers).toBeUndefined();
  });

  it('defaults: grad 8 bits, baseline static:Bmax, bit-fusion-45nm; --epochs and --per-layer', async () => {
    const r = await cli('estimate', '--model', 'mlp', '--schedule', 'cpt:3-6', '--epochs', '30', '--batch-size', '64', '--json', '--per-layer');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ profile: 'bit-fusion-45nm', baselineSchedule: 'static:6', gradBits: 8, iterations: 30 * 22 });
    expect(out.layers.map((l: { layer: string }) => l.layer)).toEqual(['fc1', 'fc2']);
  });

  it('prints a readable table with phases and layers', async () => {
    const r = await cli('estimate', '--model', 'resnet-38', '--profile', 'int8-systolic', '--per-layer');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/energy\s+\S+ \S+\s+\S+ \S+\s+0\.0 %/);
    expect(r.stdout).toMatch(/BitOPs .* 36\.7 %/);
    expect(r.stdout).toContain('input-grad');
    expect(r.stdout).toContain('layer3.5.conv2');
  });

  it('prices every compute format of the profile as a tier: H100 int8 vs fp8 vs bf16, in the table and in --json', async () => {
    const args = ['estimate', '--model', 'mlp', '--profile', 'gpu-h100', '--schedule', 'cpt:3-8', '--baseline', 'static:8'];
    const json = JSON.parse((await cli(...args, '--json')).stdout);
    expect(json.tiers.map((t: { format: string; kind: string; bits: number }) => `${t.format}:${t.kind}:${t.bits}`)).toEqual(['int8:int:8', 'fp8:float:8', 'bf16:float:16', 'fp16:float:16', 'tf32:float:32']);
    const [int8, fp8, bf16, fp16, tf32] = json.tiers;
    expect(int8.macsPerS).toBe(989.5e12);
    expect(fp8.step).toEqual(int8.step);
    expect(bf16.step).toEqual(fp16.step);
    expect(tf32.macsPerS).toBe(247.4e12);
    expect(int8.step).toEqual({ energyJ: json.baselineStep.energyJ, latencyS: json.baselineStep.latencyS, bitops: json.baselineStep.bitops });
    expect(int8.savings.energyPct).toBe(0);
    expect(bf16.savings.latencyPct).toBeLessThan(0);
    expect(json.baselineStep.schedule).toBe('static:8');
    expect(json.kindFallbacks).toEqual([]);
    const text = await cli(...args);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('steps by bits (w/a/g×count): '); // the existing output is all still there
    expect(text.stdout).toContain('per format of gpu-h100: one step with weights, activations and errors in the format');
    expect(text.stdout).toMatch(/\nformat +kind +bits +MAC energy +MAC\/s +step energy +saved +step latency +saved\n/);
    expect(text.stdout).toMatch(/\nint8 +int +8 +616 fJ +990 TMAC\/s .* 0\.0 %\n/);
    expect(text.stdout).toMatch(/\nfp8 +float +8 +616 fJ +990 TMAC\/s /);
    expect(text.stdout).not.toContain('kind fallback');
  });

  it('says which operands ran in a format of another kind (fp32 on an integer-only array, int16 on the A100)', async () => {
    const bf = await cli('estimate', '--model', 'mlp', '--profile', 'bit-fusion-45nm');
    expect(bf.stdout).toContain('costed in the narrowest wide-enough format of the other kind: fp32 → int8 (4 slices)');
    const a100 = JSON.parse((await cli('estimate', '--model', 'mlp', '--profile', 'gpu-a100', '--schedule', 'static:16', '--fp-layers', 'none', '--json')).stdout);
    expect(a100.kindFallbacks).toEqual([{ operand: 'int8', format: 'fp16', slices: 1 }, { operand: 'int16', format: 'fp16', slices: 1 }]);
    expect(a100.tiers.map((t: { format: string; macsPerS: number }) => [t.format, t.macsPerS])).toEqual([['int4', 624e12], ['int8', 312e12], ['fp16', 156e12], ['bf16', 156e12], ['tf32', 78e12]]);
  });

  it('takes a profile file path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitcycle-cli-'));
    const file = join(dir, 'mine.json');
    const json = JSON.parse(readFileSync('hw-profiles/horowitz-45nm.json', 'utf8'));
    json.name = 'mine';
    writeFileSync(file, JSON.stringify(json));
    const r = await cli('estimate', '--model', 'mlp', '--profile', file, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).profile).toBe('mine');
  });

  it.each([
    [['--profile', 'nope'], /^bitcycle: --profile: unknown profile "nope" \(available: bit-fusion-45nm, .*; looked in hw-profiles; /],
    [['--model', 'vgg'], /^bitcycle: --model: unknown model "vgg"/],
    [['--schedule', 'cpt:8-3'], /^bitcycle: schedule "cpt:8-3": Bmin \(8\) must not exceed Bmax \(3\)/],
    [['--grad-bits', '0'], /^bitcycle: --grad-bits: expected an integer in 1\.\.32 or a schedule spec, got 0/],
    [['--iterations', '10', '--epochs', '1'], /^bitcycle: --epochs: give either --iterations or --epochs, not both/],
  ])('bad options %j → one line and exit code 2', async (args, message) => {
    const r = await cli('estimate', ...args, '--json');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('a bad profile file → its path and JSON path, exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bitcycle-cli-'));
    const file = join(dir, 'bad.json');
    const json = JSON.parse(readFileSync('hw-profiles/bit-fusion-45nm.json', 'utf8'));
    json.compute.macEnergy = '3 ns';
    writeFileSync(file, JSON.stringify(json));
    const r = await cli('estimate', '--profile', file, '--json');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`bitcycle: ${file}: $.compute.macEnergy: expected energy (J), got "3 ns" (time)\n`);
  });
});

describe('bitcycle profile', () => {
  it('list names every shipped profile', async () => {
    const r = await cli('profile', 'list', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).profiles.map((p: { name: string }) => p.name)).toEqual([
      'bit-fusion-45nm', 'bit-serial-stripes', 'gpu-a100', 'gpu-h100', 'horowitz-45nm', 'int8-systolic', 'loom-bit-serial',
    ]);
  });

  it('show prints formats, memory and sources', async () => {
    const r = await cli('profile', 'show', 'gpu-h100');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('fp8');
    expect(r.stdout).toContain('hbm3');
    expect(r.stdout).toContain('sources:');
  });

  it('validate accepts good files and rejects bad ones with exit code 2', async () => {
    expect((await cli('profile', 'validate', 'hw-profiles/gpu-a100.json')).stdout).toContain('hw-profiles/gpu-a100.json: ok');
    const dir = mkdtempSync(join(tmpdir(), 'bitcycle-cli-'));
    const file = join(dir, 'bad.json');
    const json = JSON.parse(readFileSync('hw-profiles/gpu-a100.json', 'utf8'));
    json.compute.macThroughput = 'import({x: 1})';
    writeFileSync(file, JSON.stringify(json));
    const r = await cli('profile', 'validate', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: $.compute.macThroughput: "import({x: 1})": unknown or disallowed function "import"`);
  });
});

describe('bitcycle profile validate: several files, one line each', () => {
  const shipped = readdirSync('hw-profiles').filter((f) => f.endsWith('.json')).sort().map((f) => `hw-profiles/${f}`);

  it('hw-profiles/*.json: every profile ok, schema.json skipped, exit code 0', async () => {
    const r = await cli('profile', 'validate', ...shipped);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(shipped.length);
    expect(lines).toContain('hw-profiles/schema.json: skipped: a JSON Schema, not a profile');
    expect(lines.filter((l) => / ok \(/.test(l))).toHaveLength(shipped.length - 1);
    expect(lines).toContain('hw-profiles/int8-systolic.json: ok (int8-systolic: 1 format, 2 memory levels)');
  });

  it('goes on after a bad file and exits 2; each bad file is one line naming the file and field', async () => {
    const dir = tempDir();
    const slow = writeProfile(dir, 'slow.json', 'gpu-a100', (j) => (j.compute.macThroughput = '1e-300 Hz'));
    const costly = writeProfile(dir, 'costly.json', 'horowitz-45nm', (j) => (j.memory[1].readEnergy = '1.7e308 pJ/bit'));
    const r = await cli('profile', 'validate', 'hw-profiles/gpu-h100.json', slow, 'hw-profiles/schema.json', costly, join(dir, 'missing.json'), 'hw-profiles/loom-bit-serial.json');
    expect(r.code).toBe(2);
    expect(r.stdout.trim().split('\n')).toEqual([
      'hw-profiles/gpu-h100.json: ok (gpu-h100: 5 formats, 2 memory levels)', // int8, fp8, bf16, fp16, tf32
      'hw-profiles/schema.json: skipped: a JSON Schema, not a profile',
      'hw-profiles/loom-bit-serial.json: ok (loom-bit-serial: 16 formats, 2 memory levels)',
    ]);
    expect(r.stderr.trim().split('\n')).toEqual([
      `bitcycle: ${slow}: $.compute.macThroughput: must be between 1 and 1e24 MAC/s, got "1e-300 Hz" = 1e-300 MAC/s at ba=4, bw=4`,
      `bitcycle: ${costly}: $.memory[1].readEnergy: must be between 1e-24 and 0.001 J/bit, got "1.7e308 pJ/bit" = 1.7e296 J/bit`,
      `bitcycle: ${join(dir, 'missing.json')}: $: file not found`,
    ]);
  });

  it('a JSON Schema under another name is skipped by its content', async () => {
    const dir = tempDir();
    const schema = join(dir, 'profile.schema.json');
    writeFileSync(schema, readFileSync('hw-profiles/schema.json'));
    const r = await cli('profile', 'validate', schema);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${schema}: skipped: a JSON Schema, not a profile\n`);
  });

  it('without files: every profile of --profiles-dir and the shipped ones', async () => {
    const dir = tempDir();
    writeProfile(dir, 'mine.json', 'bit-fusion-45nm', (j) => (j.name = 'mine'));
    const r = await cli('profile', 'validate', '--profiles-dir', dir);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(`${join(dir, 'mine.json')}: ok (mine: 3 formats, 2 memory levels)`);
    expect(lines).toHaveLength(1 + 7);
  });

  it('a raw newline or escape sequence in a profile never splits or colours the line', async () => {
    const dir = tempDir();
    const file = writeProfile(dir, 'evil.json', 'bit-fusion-45nm', (j) => (j.compute.macEnergy = '0.4 pJ\n\u001b[31m2 pJ'));
    const line = oneErrorLine(await cli('profile', 'validate', file));
    expect(line).toMatch(/^bitcycle: .*evil\.json: \$\.compute\.macEnergy: cannot parse "0\.4 pJ\\n\\u001b\[31m2 pJ": [^\n]+$/);
    expect(line).not.toMatch(/\u001b/);
    const est = oneErrorLine(await cli('estimate', '--model', 'mlp', '--profile', file));
    expect(est).toContain(`${file}: $.compute.macEnergy: cannot parse "0.4 pJ\\n\\u001b[31m2 pJ"`);
  });
});

describe('extreme and unreachable values through the CLI', () => {
  it.each([
    ['compute.macThroughput', (j: Record<string, any>) => (j.compute.macThroughput = '1e-300 Hz'), '$.compute.macThroughput: must be between 1 and 1e24 MAC/s'],
    ['compute.macEnergy', (j: Record<string, any>) => (j.compute.macEnergy = '1.7e308 pJ'), '$.compute.macEnergy: must be between 1e-24 and 0.001 J'],
    ['clock', (j: Record<string, any>) => (j.clock = '1e308 GHz'), '$.clock: "1e308 GHz" is not finite (Infinity); must be between 1 and 1e15 Hz'],
    ['memory bandwidth', (j: Record<string, any>) => (j.memory[0].bandwidth = '5e-324 bit/s'), '$.memory[0].bandwidth: must be between 1 and 1e24 bit/s'],
  ])('%s: estimate refuses the profile with exit code 2 and one line', async (_label, edit, message) => {
    const dir = tempDir();
    const file = writeProfile(dir, 'x.json', 'bit-fusion-45nm', edit);
    const line = oneErrorLine(await cli('estimate', '--model', 'mlp', '--profile', file, '--json'));
    expect(line).toContain(`bitcycle: ${file}: ${message}`);
  });
});

describe('aboveMax "reject": usable within its formats, refused up front beyond them', () => {
  const strict = () => writeProfile(tempDir(), 'strict.json', 'int8-systolic', (j) => (j.compute.aboveMax = 'reject'));

  it('validates, and estimates schedules, baselines and error bits up to the widest format', async () => {
    const file = strict();
    expect((await cli('profile', 'validate', file)).code).toBe(0);
    const r = await cli('estimate', '--model', 'mlp', '--profile', file, '--schedule', 'cpt:3-8', '--grad-bits', '8', '--fp-layers', 'none', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).energyJ).toBeGreaterThan(0);
    // a full-precision classifier (the default --fp-layers last) needs 32-bit operands
    const line = oneErrorLine(await cli('estimate', '--model', 'mlp', '--profile', file, '--schedule', 'cpt:3-8'));
    expect(line).toContain('and --fp-layers last (full precision is 32 bits) asks for 32 bits; ');
  });

  it.each([
    [['--schedule', 'cpt:3-16'], 'and --schedule cpt:3-16 asks for 16 bits'],
    [['--schedule', 'static:12', '--baseline', 'static:8'], 'and --schedule static:12 asks for 12 bits'],
    [['--baseline', 'static:32'], 'and --baseline static:32 asks for 32 bits'],
    [['--grad-bits', '12'], 'and --grad-bits 12 asks for 12 bits'],
    [['--grad-bits', 'cpt:4-10'], 'and --grad-bits cpt:4-10 asks for 10 bits'],
  ])('%j → exit code 2, one line naming $.compute.aboveMax and what asked for more', async (args, what) => {
    const file = strict();
    const line = oneErrorLine(await cli('estimate', '--model', 'mlp', '--profile', file, ...args));
    expect(line).toContain(`bitcycle: ${file}: $.compute.aboveMax: "reject" refuses MAC operands wider than the widest format int8 (8 bits), ${what}; `);
  });
});

describe('profile directories: --profiles-dir and BITCYCLE_PROFILES', () => {
  function customDir(): string {
    const dir = tempDir();
    writeProfile(dir, 'my-npu.json', 'horowitz-45nm', (j) => {
      j.name = 'my-npu';
      j.description = 'my NPU \u001b[2J\nsecond line';
    });
    writeProfile(dir, 'gpu-a100.json', 'gpu-a100', (j) => (j.description = 'my own A100 numbers'));
    return dir;
  }

  it('estimate finds a profile by name in --profiles-dir', async () => {
    const dir = customDir();
    const r = await cli('estimate', '--model', 'mlp', '--profile', 'my-npu', '--profiles-dir', dir, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).profile).toBe('my-npu');
  });

  it('and in BITCYCLE_PROFILES (a path list); --profiles-dir comes first', async () => {
    const dir = customDir();
    const other = tempDir();
    writeProfile(other, 'my-npu.json', 'bit-fusion-45nm', (j) => (j.name = 'other-npu'));
    const viaEnv = await cliEnv({ BITCYCLE_PROFILES: `${other}${delimiter}${dir}` }, 'estimate', '--model', 'mlp', '--profile', 'my-npu', '--json');
    expect(viaEnv.code).toBe(0);
    expect(JSON.parse(viaEnv.stdout).profile).toBe('other-npu');
    const flagFirst = await cliEnv({ BITCYCLE_PROFILES: other }, 'estimate', '--model', 'mlp', '--profile', 'my-npu', '--profiles-dir', dir, '--json');
    expect(JSON.parse(flagFirst.stdout).profile).toBe('my-npu');
  });

  it('profile list shows custom profiles first, shadowing shipped names, with their file', async () => {
    const dir = customDir();
    const r = await cli('profile', 'list', '--profiles-dir', dir, '--json');
    expect(r.code).toBe(0);
    const profiles = JSON.parse(r.stdout).profiles as { name: string; shipped: boolean; file: string; description: string }[];
    expect(profiles.slice(0, 2)).toEqual([
      { name: 'gpu-a100', file: join(dir, 'gpu-a100.json'), shipped: false, description: 'my own A100 numbers' },
      { name: 'my-npu', file: join(dir, 'my-npu.json'), shipped: false, description: 'my NPU \u001b[2J\nsecond line' },
    ]);
    expect(profiles.filter((p) => p.name === 'gpu-a100')).toHaveLength(1);
    expect(profiles).toHaveLength(8);
  });

  it('profile list and show print file strings sanitized, one line each', async () => {
    const dir = customDir();
    const list = await cli('profile', 'list', '--profiles-dir', dir);
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain('\u001b');
    expect(list.stdout.split('\n')).toContain(`${'my-npu'.padEnd('bit-serial-stripes'.length)}  my NPU \\x1b[2J\\nsecond line  [${join(dir, 'my-npu.json')}]`);
    expect(list.stdout.trim().split('\n')).toHaveLength(8);
    const show = await cli('profile', 'show', 'my-npu', '--profiles-dir', dir);
    expect(show.code).toBe(0);
    expect(show.stdout).not.toContain('\u001b');
    expect(show.stdout).toContain('  my NPU \\x1b[2J\\nsecond line\n');
  });

  it('profile list goes on past a broken custom profile and exits 2 with one line for it', async () => {
    const dir = customDir();
    const broken = writeProfile(dir, 'broken.json', 'bit-fusion-45nm', (j) => (j.clock = '0 Hz'));
    const r = await cli('profile', 'list', '--profiles-dir', dir);
    expect(oneErrorLine(r)).toBe(`bitcycle: ${broken}: $.clock: must be positive, got "0 Hz" = 0 Hz`);
    expect(r.stdout.trim().split('\n')).toHaveLength(8);
  });

  it('an unknown name lists what is available and where it looked', async () => {
    const dir = customDir();
    const line = oneErrorLine(await cli('estimate', '--profile', 'tpu', '--profiles-dir', dir));
    expect(line).toMatch(/^bitcycle: --profile: unknown profile "tpu" \(available: gpu-a100, my-npu, bit-fusion-45nm, /);
    expect(line).toContain(`looked in ${dir}, hw-profiles; add directories with --profiles-dir or BITCYCLE_PROFILES, or give a path to a .json file)`);
  });

  it.each([
    [['estimate', '--model', 'mlp'], {}, '--profiles-dir'],
    [['profile', 'list'], {}, '--profiles-dir'],
    [['profile', 'show', 'gpu-a100'], {}, '--profiles-dir'],
  ])('a missing --profiles-dir for %j → exit code 2, one line naming the flag', async (args, env, option) => {
    const missing = join(tempDir(), 'nope');
    const line = oneErrorLine(await cliEnv(env, ...args, '--profiles-dir', missing));
    expect(line).toBe(`bitcycle: ${option}: "${missing}": no such directory (profile directories must exist and be readable)`);
  });

  it('a missing directory in BITCYCLE_PROFILES → exit code 2, one line naming the variable', async () => {
    const missing = join(tempDir(), 'nope');
    const line = oneErrorLine(await cliEnv({ BITCYCLE_PROFILES: missing }, 'profile', 'list'));
    expect(line).toBe(`bitcycle: BITCYCLE_PROFILES: "${missing}": no such directory (profile directories must exist and be readable)`);
    const file = tempDir();
    mkdirSync(join(file, 'sub'));
    const notDir = join(file, 'x.txt');
    writeFileSync(notDir, 'x');
    expect(oneErrorLine(await cliEnv({ BITCYCLE_PROFILES: notDir }, 'estimate', '--model', 'mlp'))).toContain('BITCYCLE_PROFILES: ');
  });

  it('--help of estimate and profile commands documents --profiles-dir and BITCYCLE_PROFILES', async () => {
    for (const args of [['estimate'], ['profile', 'list'], ['profile', 'show'], ['profile', 'validate']]) {
      const r = await cli(...args, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('--profiles-dir <dir>');
      expect(r.stdout).toContain('BITCYCLE_PROFILES');
    }
  });
});
