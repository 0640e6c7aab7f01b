import { statSync } from 'node:fs';
import { delimiter, dirname } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { fmtTime, formatSI, textTable } from '../../format.js';
// light (pure, no mathjs or zod): the fit and the profile of `profile calibrate`
import { type HostMeasurements, gemmTimes, hostProfileJson, profileNameFor } from '../../hw/host-profile.js';
import type { HardwareProfile } from '../../hw/profile.js';
import { prepareOutputDirectory, writeFileAtomic } from '../../util/fs.js';
import { sanitize, sanitizeShort } from '../../util/text.js';
import { parseIntOption, printJson } from '../output.js';

// mathjs and zod load with the profile modules: only inside actions, so `--help` stays fast.
const hw = () => import('../../hw/index.js');

/** Help text of `--profiles-dir`, shared with `estimate` and `train`. */
export const PROFILES_DIR_HELP =
  `directory of profile JSON files whose names --profile accepts, searched before $BITCYCLE_PROFILES and the shipped hw-profiles/ ` +
  `(several: separated by "${delimiter}")`;

/** Help text about BITCYCLE_PROFILES, appended to the help of commands that resolve profile names. */
export const PROFILES_ENV_HELP =
  `\nProfile names are looked up in --profiles-dir, then in the directories of the BITCYCLE_PROFILES environment ` +
  `variable (a "${delimiter}"-separated list), then in the shipped hw-profiles/; the first <name>.json found wins. ` +
  `A value with a "/" or ending in .json is a file path.`;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Energy and rate of every format pair on the diagonal (and, for independent operands, ba ≠ bw pairs
 * too), read from the profile's per-pair tables: each listed format as itself (int8 and fp8 of one
 * width are separate tiers).
 */
function formatTable(profile: HardwareProfile): { ba: number; bw: number; format: string; macEnergyJ: number; macsPerS: number }[] {
  const rows = [];
  const n = profile.formats.length;
  for (const [i, a] of profile.formats.entries()) {
    for (const [j, w] of profile.formats.entries()) {
      if (profile.operands === 'shared' && i !== j) continue;
      rows.push({ ba: a.bits, bw: w.bits, format: i === j ? a.name : `${a.name}×${w.name}`, macEnergyJ: profile.macEnergyJ[i * n + j]!, macsPerS: profile.macThroughputPerS[i * n + j]! });
    }
  }
  return rows;
}

function summary(profile: HardwareProfile): Record<string, unknown> {
  return {
    name: profile.name,
    file: profile.file,
    description: profile.description,
    clockHz: profile.clockHz,
    formats: profile.formats,
    operands: profile.operands,
    aboveMax: profile.aboveMax,
    macEnergy: profile.macEnergyExpr,
    macThroughput: profile.macThroughputExpr,
    mac: formatTable(profile),
    memory: profile.memory.map((m) => ({ ...m, capacityBits: Number.isFinite(m.capacityBits) ? m.capacityBits : null })),
    staticPowerW: profile.staticPowerW,
    overhead: { perGemmS: profile.overheadPerGemmS, perStepS: profile.overheadPerStepS },
    sources: profile.sources,
    notes: profile.notes,
  };
}

/** Human-readable profile; every string from the file goes through `sanitize` (one line each, no escapes). */
function printProfile(profile: HardwareProfile): void {
  const s = sanitize;
  const out: string[] = [];
  out.push(`${s(profile.name)} (${s(profile.file)})`, `  ${s(profile.description)}`, '');
  out.push(`clock       ${formatSI(profile.clockHz, 'Hz')}`);
  out.push(`formats     ${profile.formats.map((f) => `${s(f.name)}${f.float ? ' (float)' : ''}`).join(', ')}; operands ${profile.operands}; wider operands: ${profile.aboveMax}`);
  out.push(`macEnergy     = ${s(profile.macEnergyExpr)}`);
  out.push(`macThroughput = ${s(profile.macThroughputExpr)}`);
  const diagonal = formatTable(profile).filter((r) => !r.format.includes('×'));
  out.push('', 'per MAC at equal operand widths:');
  for (const r of diagonal) out.push(`  ${s(r.format).padEnd(8)} ${formatSI(r.macEnergyJ, 'J').padStart(10)}   ${formatSI(r.macsPerS, 'MAC/s').padStart(14)}`);
  out.push('', 'memory (nearest the MACs first):');
  for (const m of profile.memory) {
    const capacity = Number.isFinite(m.capacityBits) ? formatSI(m.capacityBits / 8, 'B') : 'unbounded';
    out.push(`  ${s(m.name).padEnd(16)} ${capacity.padStart(10)}  read ${formatSI(m.readEnergyPerBitJ, 'J/bit')}  write ${formatSI(m.writeEnergyPerBitJ, 'J/bit')}  ${formatSI(m.bandwidthBitsPerS / 8, 'B/s')}`);
  }
  if (profile.staticPowerW > 0) out.push('', `static power ${formatSI(profile.staticPowerW, 'W')}`);
  if (profile.overheadPerGemmS > 0 || profile.overheadPerStepS > 0) {
    out.push('', `overhead     ${fmtTime(profile.overheadPerGemmS)} per GEMM, ${fmtTime(profile.overheadPerStepS)} per step`);
  }
  out.push('', 'sources:');
  for (const src of profile.sources) {
    out.push(`  - ${s(src.title)}${src.url ? ` <${s(src.url)}>` : ''}`);
    if (src.uses) out.push(`    ${s(src.uses)}`);
  }
  if (profile.notes.length) {
    out.push('', 'notes:');
    for (const n of profile.notes) out.push(`  - ${s(n)}`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

export function register(program: Command): void {
  const profile = program.command('profile').description('list, show and validate hardware profiles (hw-profiles/*.json and your own), or calibrate one to this machine');

  profile
    .command('list')
    .description('list the hardware profiles --profile accepts by name: --profiles-dir, $BITCYCLE_PROFILES, then the shipped ones')
    .option('--profiles-dir <dir>', PROFILES_DIR_HELP)
    .option('--json', 'print one JSON object')
    .addHelpText('after', PROFILES_ENV_HELP)
    .action(async (opts: { json?: boolean; profilesDir?: string }) => {
      const { availableProfiles, profileDirs, validateProfile } = await hw();
      const dirs = profileDirs(opts.profilesDir);
      const results = availableProfiles(dirs).map((entry) => ({ entry, result: validateProfile(entry.path, dirs) }));
      const failed = results.filter((r) => r.result.status === 'failed');
      if (failed.length > 0) process.exitCode = 2;
      if (opts.json) {
        printJson({
          profiles: results.map(({ entry, result }) => ({
            name: entry.name,
            file: result.file,
            shipped: entry.shipped,
            ...(result.status === 'ok' ? { description: result.profile.description } : {}),
            ...(result.status === 'failed' ? { error: result.error.message } : {}),
          })),
        });
        return;
      }
      const width = Math.max(0, ...results.map((r) => sanitize(r.entry.name).length));
      for (const { entry, result } of results) {
        if (result.status === 'failed') continue;
        const where = entry.shipped ? '' : `  [${sanitize(result.file)}]`;
        const description = result.status === 'ok' ? sanitize(result.profile.description) : result.reason;
        process.stdout.write(`${sanitize(entry.name).padEnd(width)}  ${description}${where}\n`);
      }
      for (const { result } of failed) if (result.status === 'failed') process.stderr.write(`bitcycle: ${sanitize(result.error.message)}\n`);
    });

  profile
    .command('show')
    .description('show a profile: formats, energy and rate per MAC, memory levels, sources')
    .argument('<profile>', 'a profile name or a path to a JSON file')
    .option('--profiles-dir <dir>', PROFILES_DIR_HELP)
    .option('--json', 'print one JSON object')
    .addHelpText('after', PROFILES_ENV_HELP)
    .action(async (nameOrPath: string, opts: { json?: boolean; profilesDir?: string }) => {
      const { loadProfile, profileDirs } = await hw();
      const p = loadProfile(nameOrPath, 'profile', profileDirs(opts.profilesDir));
      if (opts.json) printJson(summary(p));
      else printProfile(p);
    });

  profile
    .command('validate')
    .description(
      'check profiles (files, or names through --profiles-dir / $BITCYCLE_PROFILES; none: every profile found there): ' +
        'one line per profile, a JSON Schema file is skipped; exit code 2 if any failed',
    )
    .argument('[profiles...]', 'profile JSON files or names')
    .option('--profiles-dir <dir>', PROFILES_DIR_HELP)
    .addHelpText('after', PROFILES_ENV_HELP)
    .action(async (given: string[], opts: { profilesDir?: string }) => {
      const { availableProfiles, profileDirs, validateProfile } = await hw();
      const dirs = profileDirs(opts.profilesDir);
      const targets = given.length > 0 ? given : availableProfiles(dirs).map((p) => p.path);
      let failures = 0;
      for (const target of targets) {
        const r = validateProfile(target, dirs);
        if (r.status === 'ok') {
          process.stdout.write(`${sanitize(r.file)}: ok (${sanitize(r.profile.name)}: ${plural(r.profile.formats.length, 'format')}, ${plural(r.profile.memory.length, 'memory level')})\n`);
        } else if (r.status === 'skipped') {
          process.stdout.write(`${sanitize(r.file)}: skipped: ${r.reason}\n`);
        } else {
          failures++;
          process.stderr.write(`bitcycle: ${sanitize(r.error.message)}\n`);
        }
      }
      if (failures > 0) process.exitCode = 2;
    });

  profile
    .command('calibrate')
    .description(
      'measure this machine with onnxruntime — fp32 and int8 GEMM throughput over several shapes, memory bandwidth, ' +
        'per-GEMM and per-step overhead — and write a hardware profile of it (energy is not measured: Horowitz 45 nm, said so in the profile)',
    )
    .option('--out <file>', 'profile JSON file to write, required (a path ending in .json; its name without .json becomes the profile name)')
    .option('--threads <n>', 'onnxruntime intra-op threads, as train --threads', '1')
    .option('--quick', 'tiny shapes and arrays, few repeats (well under a second): checks that calibration works, the numbers do not describe the machine')
    .option('--json', 'print the measurements and the profile as one JSON object instead of a table')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  bitcycle profile calibrate --out host.json                      # ~3 s, 1 thread\n' +
        '  bitcycle profile calibrate --out profiles/host-2t.json --threads 2\n' +
        '  bitcycle estimate --model cnn --schedule cpt:3-8 --profile ./host.json\n',
    )
    .action(async (opts: { out?: string; threads: string; quick?: boolean; json?: boolean }) => {
      if (opts.out === undefined) throw new UsageError('--out', 'required: the profile JSON file to write, e.g. --out host.json');
      const threads = parseIntOption('--threads', opts.threads, 1, 64);
      const out = checkProfileOut(opts.out);
      const [{ measureHost }, { compileProfile }] = await Promise.all([import('../../hw/calibrate.js'), import('../../hw/profile.js')]);
      const measurements = await measureHost({ threads, quick: opts.quick ?? false });
      const json = hostProfileJson(measurements, profileNameFor(out));
      // what is written must load: a profile this command cannot read back is a bug, not a user error
      const profile = compileProfile(json, out);
      writeFileAtomic(out, JSON.stringify(json, null, 2) + '\n');
      if (opts.json) printJson({ file: out, measurements, profile: json });
      else printCalibration(measurements, profile, out);
    });

  profile
    .command('schema')
    .description('print the JSON Schema of profiles (hw-profiles/schema.json is generated with this)')
    .action(async () => {
      const { profileJsonSchema } = await hw();
      process.stdout.write(JSON.stringify(profileJsonSchema(), null, 2) + '\n');
    });
}

/**
 * `--out` of `profile calibrate`, checked before anything is measured: a path ending in .json
 * (so --profile reads it as a file) that is not a directory or another non-regular file, in a
 * directory that exists or can be created and can be written in. Every problem is one UsageError.
 */
function checkProfileOut(out: string): string {
  const shown = sanitizeShort(out, 120);
  let stat;
  try {
    stat = statSync(out);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new UsageError('--out', `cannot write "${shown}" (${code ?? (err as Error).message})`);
  }
  if (stat?.isDirectory()) throw new UsageError('--out', `"${shown}" is a directory; give a file path such as ${sanitizeShort(out.replace(/\/+$/, ''), 100)}/host.json`);
  if (stat && !stat.isFile()) throw new UsageError('--out', `"${shown}" exists and is not a regular file; give a path to a new or a regular .json file`);
  if (!out.endsWith('.json')) throw new UsageError('--out', `expected a file path ending in .json (so --profile reads it as a file), got "${shown}"`);
  prepareOutputDirectory(dirname(out), '--out');
  return out;
}

/** What `profile calibrate` measured, as a short table, and where the profile went. */
function printCalibration(m: HostMeasurements, profile: HardwareProfile, out: string): void {
  const rate = (r: number) => formatSI(r, 'MAC/s');
  const gemmRows = [['GEMM m×k×n (less empty run)', 'fp32 MatMul', 'uint8×int8'] as string[]];
  const alone = gemmTimes(m);
  for (const s of alone.filter((r) => r.kind === 'fp32')) {
    const int = alone.find((r) => r.kind === 'int8' && r.m === s.m && r.k === s.k && r.n === s.n);
    gemmRows.push([`${s.m}×${s.k}×${s.n}`, fmtTime(s.timeS), int ? fmtTime(int.timeS) : '—']);
  }
  gemmRows.push(['empty run', fmtTime(m.emptyRunS.fp32), fmtTime(m.emptyRunS.int8)]);
  const formatRate = (bits: number) => {
    const i = profile.formats.findIndex((f) => f.bits === bits);
    return rate(profile.macThroughputPerS[i * profile.formats.length + i]!);
  };
  gemmRows.push(['fitted rate', formatRate(32), formatRate(8)]);
  const lines = [
    `${sanitize(m.host.hostname)}: ${sanitize(m.host.cpuModel ?? 'CPU model not reported')}, ${m.host.logicalCpus} logical CPUs, onnxruntime-node ${sanitize(m.host.onnxruntime)}, ${m.threads} intra-op thread${m.threads === 1 ? '' : 's'}${m.quick ? ' (--quick: not representative)' : ''}`,
    `times: ${m.statistic}`,
    '',
    textTable(gemmRows),
    '',
    textTable([
      ['memory', 'capacity', 'bandwidth'],
      ...profile.memory.map((l) => [sanitize(l.name), Number.isFinite(l.capacityBits) ? formatSI(l.capacityBits / 8, 'B') : 'unbounded', formatSI(l.bandwidthBitsPerS / 8, 'B/s')]),
    ]),
    '',
    `overhead: ${fmtTime(profile.overheadPerGemmS)} per GEMM, ${fmtTime(profile.overheadPerStepS)} per step (Loop iteration ${fmtTime(m.loopIterationS)}, empty run ${fmtTime(m.emptyRunS.fp32)} / ${m.chunkSteps} steps)`,
    'energy: not measured (Horowitz 45 nm figures, see the profile\'s sources)',
    '',
    `wrote ${sanitize(out)} (profile ${sanitize(profile.name)}); use it with --profile ${sanitize(out)}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

