/**
 * Reading profiles from disk: by name through the profile directories (`--profiles-dir`, then
 * `BITCYCLE_PROFILES`, then the shipped hw-profiles/), or any JSON file by path. The only module
 * of src/hw that does I/O.
 *
 * A profile is read once as bytes: `readProfileSource` returns the compiled profile together with
 * the exact text and its SHA-256, so a run can keep a content-addressed copy and check it when it
 * is read back (`compileProfileText`).
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BitcycleError, ProfileError, UsageError } from '../errors.js';
import { sanitizeShort } from '../util/text.js';
import { DEFAULT_PROFILE } from './defaults.js';
import { profileError, quote } from './messages.js';
import { type HardwareProfile, compileProfile } from './profile.js';

export { DEFAULT_PROFILE };

/** The environment variable with extra profile directories (a path list, like PATH). */
export const PROFILES_ENV = 'BITCYCLE_PROFILES';

/** Profile files larger than this are refused unread (a profile is a few KiB). */
export const MAX_PROFILE_BYTES = 1 << 20;

/** Directory of the shipped profiles (hw-profiles/ at the package root). */
export function shippedProfilesDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'hw-profiles');
}

/** Whether a file name in a profile directory names a profile (`*.json` but not the schema). */
function isProfileFileName(name: string): boolean {
  return name.endsWith('.json') && name.length > '.json'.length && name !== 'schema.json';
}

/** Names of the shipped profiles, sorted. */
export function shippedProfileNames(): string[] {
  return readdirSync(shippedProfilesDir())
    .filter(isProfileFileName)
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') ? rel : path;
}

/** Why `dir` cannot serve as a profile directory, or null. */
function directoryProblem(dir: string): string | null {
  try {
    if (!statSync(dir).isDirectory()) return 'not a directory';
    readdirSync(dir);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'no such directory';
    if (code === 'EACCES' || code === 'EPERM') return 'cannot be read: permission denied';
    return `cannot be read: ${code ?? (err as Error).message}`;
  }
}

function splitPathList(value: string | undefined): string[] {
  return (value ?? '').split(delimiter).filter((entry) => entry.trim() !== '');
}

/**
 * The directories profile names are looked up in, first match wins: those of the `--profiles-dir`
 * flag (`flag`; several separated by the platform's path delimiter, `:` or `;`), then those of
 * the BITCYCLE_PROFILES environment variable (a path list), then the shipped hw-profiles/.
 * Relative paths are resolved against the working directory; duplicates are dropped. A directory
 * that is missing or unreadable is a UsageError naming the flag or the variable.
 */
export function profileDirs(flag?: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  const add = (entries: string[], source: string) => {
    for (const entry of entries) {
      const dir = resolve(entry);
      const problem = directoryProblem(dir);
      if (problem !== null) throw new UsageError(source, `${quote(entry, 120)}: ${problem} (profile directories must exist and be readable)`);
      if (!dirs.includes(dir)) dirs.push(dir);
    }
  };
  if (flag !== undefined) {
    const entries = splitPathList(flag);
    if (entries.length === 0) throw new UsageError('--profiles-dir', 'expected a directory, got an empty value');
    add(entries, '--profiles-dir');
  }
  add(splitPathList(env[PROFILES_ENV]), PROFILES_ENV);
  const shipped = shippedProfilesDir();
  if (!dirs.includes(shipped)) dirs.push(shipped);
  return dirs;
}

export interface AvailableProfile {
  /** What `--profile` takes: the file name without `.json`. */
  name: string;
  /** Absolute path of the file. */
  path: string;
  /** From the shipped hw-profiles/ directory. */
  shipped: boolean;
}

/**
 * The profiles that names resolve to, in `dirs` order (custom directories first, each sorted by
 * name): every `*.json` file but schema.json; a name in an earlier directory shadows the same
 * name in later ones. Files are listed, not compiled.
 */
export function availableProfiles(dirs: readonly string[] = profileDirs()): AvailableProfile[] {
  const shipped = shippedProfilesDir();
  const seen = new Set<string>();
  const out: AvailableProfile[] = [];
  for (const dir of dirs) {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      throw new UsageError('profile directory', `${quote(dir, 120)}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const names = entries
      .filter((e) => isProfileFileName(e.name) && (e.isFile() || e.isSymbolicLink()))
      .map((e) => e.name)
      .sort();
    for (const file of names) {
      const name = file.slice(0, -'.json'.length);
      if (seen.has(name)) continue;
      seen.add(name);
      out.push({ name, path: join(dir, file), shipped: resolve(dir) === shipped });
    }
  }
  return out;
}

/** True when `nameOrPath` should be read as a file path rather than a profile name. */
export function looksLikePath(nameOrPath: string): boolean {
  return nameOrPath.endsWith('.json') || nameOrPath.includes('/') || nameOrPath.includes('\\');
}

/**
 * The file a profile name or path stands for (absolute). A path is taken as it is; a name is
 * looked up in `dirs` (default: `profileDirs()`, i.e. BITCYCLE_PROFILES and the shipped ones).
 * An unknown name is a UsageError for `option` listing the profiles found and where it looked.
 */
export function resolveProfilePath(nameOrPath: string, option = '--profile', dirs?: readonly string[]): string {
  if (looksLikePath(nameOrPath)) return resolve(nameOrPath);
  const searched = dirs ?? profileDirs();
  const available = availableProfiles(searched);
  const found = available.find((p) => p.name === nameOrPath);
  if (found) return found.path;
  const names = available.map((p) => p.name).join(', ') || 'none';
  const where = searched.map((d) => displayPath(d)).join(', ');
  throw new UsageError(
    option,
    `unknown profile ${quote(nameOrPath, 60)} (available: ${sanitizeShort(names, 300)}; looked in ${sanitizeShort(where, 300)}; ` +
      `add directories with --profiles-dir or ${PROFILES_ENV}, or give a path to a .json file)`,
  );
}

/** A profile with the exact text it was compiled from. */
export interface ProfileSourceText {
  profile: HardwareProfile;
  /** The file's content, decoded as UTF-8 (`Buffer.from(text, 'utf8')` gives back the exact bytes). */
  text: string;
  /** SHA-256 of the file's bytes, lowercase hex (64 characters). */
  digest: string;
  /** Absolute path of the file read. */
  origin: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** SHA-256 (hex) of a profile's text as UTF-8 bytes: the digest `readProfileSource` reports. */
export function profileDigest(text: string | Uint8Array): string {
  return createHash('sha256').update(typeof text === 'string' ? Buffer.from(text, 'utf8') : text).digest('hex');
}

/** Read a profile file's bytes as text; every problem is a ProfileError naming the file. */
function readProfileBytes(path: string, file: string): { text: string; digest: string } {
  let bytes: Buffer;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw profileError(file, '$', stat.isDirectory() ? 'is a directory, not a profile file' : 'is not a regular file');
    if (stat.size > MAX_PROFILE_BYTES) throw profileError(file, '$', `file is ${stat.size} bytes, a profile may have at most ${MAX_PROFILE_BYTES}`);
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof ProfileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw profileError(file, '$', code === 'ENOENT' || code === 'ENOTDIR' ? 'file not found' : `cannot read: ${code ?? (err as Error).message}`);
  }
  if (bytes.length > MAX_PROFILE_BYTES) throw profileError(file, '$', `file is ${bytes.length} bytes, a profile may have at most ${MAX_PROFILE_BYTES}`);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw profileError(file, '$', 'not valid UTF-8 text');
  }
  return { text, digest: profileDigest(bytes) };
}

/**
 * Compile a profile from its text (the JSON file's content); `displayName` is the file named in
 * errors and `profile.file`. A leading byte-order mark is ignored. Every problem is a
 * ProfileError. Pure: this is how a run's stored copy is read back.
 */
export function compileProfileText(text: string, displayName: string): HardwareProfile {
  let json: unknown;
  try {
    json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw profileError(displayName, '$', `invalid JSON: ${(err as Error).message}`);
  }
  return compileProfile(json, displayName);
}

/**
 * A profile by name (looked up in `dirs`, default `profileDirs()`) or path, with the exact text
 * it was compiled from, that text's SHA-256 and the absolute path read. Throws UsageError for an
 * unknown name, ProfileError for a file that cannot be read or is not a valid profile.
 */
export function readProfileSource(nameOrPath: string = DEFAULT_PROFILE, option = '--profile', dirs?: readonly string[]): ProfileSourceText {
  const origin = resolveProfilePath(nameOrPath, option, dirs);
  const file = displayPath(origin);
  const { text, digest } = readProfileBytes(origin, file);
  return { profile: compileProfileText(text, file), text, digest, origin };
}

/** Read and compile a profile file; every problem is a ProfileError naming the file. */
export function loadProfileFile(path: string): HardwareProfile {
  const file = displayPath(resolve(path));
  return compileProfileText(readProfileBytes(path, file).text, file);
}

/**
 * A profile by name (`bit-fusion-45nm`, or a `my-npu.json` in a profile directory) or by path
 * (`./my-npu.json`). Throws UsageError for an unknown name, ProfileError for a bad file.
 */
export function loadProfile(nameOrPath: string = DEFAULT_PROFILE, option = '--profile', dirs?: readonly string[]): HardwareProfile {
  return readProfileSource(nameOrPath, option, dirs).profile;
}

/** Every shipped profile, compiled. */
export function loadShippedProfiles(): HardwareProfile[] {
  const dir = shippedProfilesDir();
  return shippedProfileNames().map((name) => loadProfileFile(join(dir, `${name}.json`)));
}

/**
 * Whether parsed JSON is a JSON Schema rather than a profile: a file named schema.json, or a
 * document with `$schema` and none of a profile's fields (name, clock, compute, memory).
 */
export function isJsonSchemaDocument(json: unknown, path: string): boolean {
  if (basename(path) === 'schema.json') return true;
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return false;
  const keys = Object.keys(json);
  return keys.includes('$schema') && !['name', 'clock', 'compute', 'memory'].some((k) => keys.includes(k));
}

export type ValidationResult =
  | { status: 'ok'; file: string; profile: HardwareProfile }
  | { status: 'skipped'; file: string; reason: string }
  | { status: 'failed'; file: string; error: BitcycleError };

/**
 * Validate one profile (a path or a name through `dirs`) for `profile validate`: ok, skipped (a
 * JSON Schema, not a profile) or failed with its one-line BitcycleError. Other errors (bugs) are
 * thrown.
 */
export function validateProfile(nameOrPath: string, dirs?: readonly string[]): ValidationResult {
  let file = sanitizeShort(nameOrPath, 300);
  try {
    const origin = resolveProfilePath(nameOrPath, 'profile', dirs);
    file = displayPath(origin);
    const { text } = readProfileBytes(origin, file);
    let json: unknown = undefined;
    try {
      json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch {
      // reported by compileProfileText below
    }
    if (json !== undefined && isJsonSchemaDocument(json, origin)) return { status: 'skipped', file, reason: 'a JSON Schema, not a profile' };
    return { status: 'ok', file, profile: compileProfileText(text, file) };
  } catch (err) {
    if (err instanceof BitcycleError) return { status: 'failed', file, error: err };
    throw err;
  }
}
