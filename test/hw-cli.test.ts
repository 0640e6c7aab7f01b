import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMain } from './helpers/cli.js';

/** `bitcycle ARGS` in this process (see runMain), from the repository root. */
async function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await runMain(args, { env: { NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
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
    [['--profile', 'nope'], /^bitcycle: --profile: unknown profile "nope" \(shipped: /],
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
