/** Write a model's training artifacts to a directory (training/eval models, manifest, checkpoint). */
import { writeFileSync } from 'node:fs';
import { makeDirectories } from '../util/fs.js';
import { join, resolve } from 'node:path';
import type { ModelDef } from '../models/model.js';
import { type Artifacts, buildArtifacts } from './build.js';
import { initialCheckpoint, writeCheckpoint } from './checkpoint.js';

export const MANIFEST_FILE = 'manifest.json';

/** Write the training model, the eval model and the manifest into `dir`; returns the file names. */
export function writeArtifacts(dir: string, artifacts: Artifacts): string[] {
  makeDirectories(dir);
  const m = artifacts.manifest;
  writeFileSync(join(dir, m.training.file), artifacts.training.bytes);
  writeFileSync(join(dir, m.eval.file), artifacts.eval.bytes);
  writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify(m, null, 2) + '\n');
  if (artifacts.gradient && m.gradient) writeFileSync(join(dir, m.gradient.file), artifacts.gradient.bytes);
  return [m.training.file, m.eval.file, MANIFEST_FILE, ...(m.gradient ? [m.gradient.file] : [])];
}

export interface ExportedArtifacts {
  dir: string;
  files: string[];
}

/** `bitcycle export`: the artifacts plus the initial checkpoint of `seed`. */
export function exportArtifacts(model: ModelDef, outDir: string, seed: number): ExportedArtifacts {
  const dir = resolve(outDir);
  const artifacts = buildArtifacts(model);
  const files = writeArtifacts(dir, artifacts);
  writeCheckpoint(join(dir, artifacts.manifest.checkpoint), initialCheckpoint(model, seed));
  return { dir, files: [files[0]!, files[1]!, artifacts.manifest.checkpoint, files[2]!] };
}
