/**
 * Reading profiles from disk: shipped ones in hw-profiles/ by name, or any JSON file by path.
 * The only module of src/hw that does I/O.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProfileError, UsageError } from '../errors.js';
import { type HardwareProfile, compileProfile } from './profile.js';

import { DEFAULT_PROFILE } from './defaults.js';

export { DEFAULT_PROFILE };

/** Directory of the shipped profiles (hw-profiles/ at the package root). */
export function shippedProfilesDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'hw-profiles');
}

/** Names of the shipped profiles, sorted. */
export function shippedProfileNames(): string[] {
  return readdirSync(shippedProfilesDir())
    .filter((f) => f.endsWith('.json') && f !== 'schema.json')
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') ? rel : path;
}

/** Read and compile a profile file; every problem is a ProfileError naming the file. */
export function loadProfileFile(path: string): HardwareProfile {
  const file = displayPath(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ProfileError(file, '$', code === 'ENOENT' ? 'file not found' : `cannot read: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ProfileError(file, '$', `invalid JSON: ${(err as Error).message}`);
  }
  return compileProfile(json, file);
}

/** True when `nameOrPath` should be read as a file path rather than a shipped profile name. */
export function looksLikePath(nameOrPath: string): boolean {
  return nameOrPath.endsWith('.json') || nameOrPath.includes('/') || nameOrPath.includes('\\');
}

/**
 * A shipped profile by name (`bit-fusion-45nm`) or a user's profile by path (`./my-npu.json`).
 * Throws UsageError for an unknown name, ProfileError for a bad file.
 */
export function loadProfile(nameOrPath: string = DEFAULT_PROFILE, option = '--profile'): HardwareProfile {
  if (looksLikePath(nameOrPath)) return loadProfileFile(nameOrPath);
  const names = shippedProfileNames();
  if (!names.includes(nameOrPath)) {
    throw new UsageError(option, `unknown profile "${nameOrPath}" (shipped: ${names.join(', ')}; or give a path to a .json file)`);
  }
  return loadProfileFile(join(shippedProfilesDir(), `${nameOrPath}.json`));
}

/** Every shipped profile, compiled. */
export function loadShippedProfiles(): HardwareProfile[] {
  return shippedProfileNames().map((name) => loadProfile(name));
}
