import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { decodeCheckpoint, encodeCheckpoint } from '../src/artifacts/checkpoint.js';
import { exportArtifacts } from '../src/artifacts/export.js';
import { createModel } from '../src/models/registry.js';
import { parseModelSpec } from '../src/models/spec.js';
import { runCli } from './helpers/cli.js';
import { PYTHON_ONNX, pythonWithOnnx, systemIt } from './helpers/system.js';

describe('bitcycle export', () => {
  const out = mkdtempSync(join(tmpdir(), 'bitcycle-export-'));
  const result = runCli(['export', '--model', 'mlp', '--out', out, '--json']);

  it('writes the artifact set and a manifest', () => {
    expect(result.status).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.model).toBe('mlp-64-128-10');
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.training.file).toBe('training_model.onnx');
    expect(manifest.training.params.map((p: { name: string }) => p.name)).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    expect(manifest.training.errorQuantizers).toBe(1); // fc2, the classifier, stays at full precision
    expect(manifest.buffers.map((b: { name: string }) => b.name)).toEqual(['fc1.input_range']);
  });

  systemIt(PYTHON_ONNX, 'passes the ONNX checker with full_check, CNNs included (If branches, conv gradients, noise hash)', () => {
    const py = pythonWithOnnx()!;
    const dirs = [out];
    for (const spec of ['cnn', 'resnet:depth=8']) {
      const dir = mkdtempSync(join(tmpdir(), 'bitcycle-export-'));
      exportArtifacts(createModel(parseModelSpec(spec), [1, 28, 28], 10), dir, 1);
      dirs.push(dir);
    }
    const files = dirs.flatMap((d) => [join(d, 'training_model.onnx'), join(d, 'eval_model.onnx')]);
    const script = `import onnx, sys\nfor f in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(f), full_check=True)\nprint('ok')`;
    const stdout = execFileSync(py, ['-c', script, ...files], { encoding: 'utf8' });
    expect(stdout.trim()).toBe('ok');
  });

  it('loads in onnxruntime with the inputs the manifest names', async () => {
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    const s = await ort.InferenceSession.create(join(out, 'training_model.onnx'));
    expect(s.inputNames).toEqual([...manifest.training.inputs, ...manifest.training.params, ...manifest.training.optimizerState, ...manifest.training.buffers].map((t: { name: string }) => t.name));
    expect(s.outputNames).toEqual(manifest.training.outputs);
    const e = await ort.InferenceSession.create(join(out, 'eval_model.onnx'));
    expect(e.inputNames).toEqual(manifest.eval.inputs.map((t: { name: string }) => t.name));
  });

  it('checkpoint round-trips and holds parameters, optimizer state and buffers', () => {
    const ckpt = decodeCheckpoint(readFileSync(join(out, 'checkpoint.safetensors')), 'checkpoint');
    expect([...ckpt.tensors.keys()].sort()).toEqual(
      ['fc1.bias', 'fc1.bias.velocity', 'fc1.weight', 'fc1.weight.velocity', 'fc2.bias', 'fc2.bias.velocity', 'fc2.weight', 'fc2.weight.velocity', 'fc1.input_range'].sort(),
    );
    expect(Array.from(ckpt.tensors.get('fc1.input_range')!.data)).toEqual([0, 0, 0]);
    const w = ckpt.tensors.get('fc1.weight')!;
    expect(w.shape).toEqual([64, 128]);
    expect(Math.max(...w.data.map(Math.abs))).toBeLessThanOrEqual(1 / 8);
    const again = decodeCheckpoint(encodeCheckpoint(ckpt), 'x');
    expect(Array.from(again.tensors.get('fc1.weight')!.data)).toEqual(Array.from(w.data));
  });

  it('a damaged checkpoint gives a clear error', () => {
    expect(() => decodeCheckpoint(new Uint8Array([1, 2, 3]), 'runs/x/checkpoint.safetensors')).toThrow(/runs\/x\/checkpoint.safetensors: damaged checkpoint/);
  });
});
