/** Write a model's training artifacts to a directory (training/eval models, checkpoint, manifest). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ModelDef } from '../models/model.js';
import { buildArtifacts, initialCheckpoint } from '../engine/trainer.js';
import { writeCheckpoint } from './checkpoint.js';

export interface ExportedArtifacts {
  dir: string;
  files: string[];
}

export function exportArtifacts(model: ModelDef, outDir: string, seed: number): ExportedArtifacts {
  const dir = resolve(outDir);
  mkdirSync(dir, { recursive: true });
  const artifacts = buildArtifacts(model);
  const m = artifacts.manifest;
  writeFileSync(join(dir, m.training.file), artifacts.training.bytes);
  writeFileSync(join(dir, m.eval.file), artifacts.eval.bytes);
  writeCheckpoint(join(dir, m.checkpoint), initialCheckpoint(model, seed));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
  return { dir, files: [m.training.file, m.eval.file, m.checkpoint, 'manifest.json'] };
}
