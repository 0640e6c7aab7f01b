import { delimiter } from 'node:path';
import type { Command } from 'commander';
import { formatSI } from '../../format.js';
import type { HardwareProfile } from '../../hw/profile.js';
import { sanitize } from '../../util/text.js';
import { printJson } from '../output.js';

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

/** Energy and rate of every format pair on the diagonal (and, for independent operands, ba ≠ bw pairs too). */
function formatTable(profile: HardwareProfile, macCost: (p: HardwareProfile, a: number, b: number) => { energyJ: number; timeS: number }): { ba: number; bw: number; format: string; macEnergyJ: number; macsPerS: number }[] {
  const rows = [];
  for (const a of profile.formats) {
    for (const w of profile.formats) {
      if (profile.operands === 'shared' && a !== w) continue;
      const c = macCost(profile, a.bits, w.bits);
      rows.push({ ba: a.bits, bw: w.bits, format: a === w ? a.name : `${a.name}×${w.name}`, macEnergyJ: c.energyJ, macsPerS: 1 / c.timeS });
    }
  }
  return rows;
}

function summary(profile: HardwareProfile, macCost: Parameters<typeof formatTable>[1]): Record<string, unknown> {
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
    mac: formatTable(profile, macCost),
    memory: profile.memory.map((m) => ({ ...m, capacityBits: Number.isFinite(m.capacityBits) ? m.capacityBits : null })),
    staticPowerW: profile.staticPowerW,
    sources: profile.sources,
    notes: profile.notes,
  };
}

/** Human-readable profile; every string from the file goes through `sanitize` (one line each, no escapes). */
function printProfile(profile: HardwareProfile, macCost: Parameters<typeof formatTable>[1]): void {
  const s = sanitize;
  const out: string[] = [];
  out.push(`${s(profile.name)} (${s(profile.file)})`, `  ${s(profile.description)}`, '');
  out.push(`clock       ${formatSI(profile.clockHz, 'Hz')}`);
  out.push(`formats     ${profile.formats.map((f) => `${s(f.name)}${f.float ? ' (float)' : ''}`).join(', ')}; operands ${profile.operands}; wider operands: ${profile.aboveMax}`);
  out.push(`macEnergy     = ${s(profile.macEnergyExpr)}`);
  out.push(`macThroughput = ${s(profile.macThroughputExpr)}`);
  const diagonal = formatTable(profile, macCost).filter((r) => r.ba === r.bw);
  out.push('', 'per MAC at equal operand widths:');
  for (const r of diagonal) out.push(`  ${s(r.format).padEnd(8)} ${formatSI(r.macEnergyJ, 'J').padStart(10)}   ${formatSI(r.macsPerS, 'MAC/s').padStart(14)}`);
  out.push('', 'memory (nearest the MACs first):');
  for (const m of profile.memory) {
    const capacity = Number.isFinite(m.capacityBits) ? formatSI(m.capacityBits / 8, 'B') : 'unbounded';
    out.push(`  ${s(m.name).padEnd(16)} ${capacity.padStart(10)}  read ${formatSI(m.readEnergyPerBitJ, 'J/bit')}  write ${formatSI(m.writeEnergyPerBitJ, 'J/bit')}  ${formatSI(m.bandwidthBitsPerS / 8, 'B/s')}`);
  }
  if (profile.staticPowerW > 0) out.push('', `static power ${formatSI(profile.staticPowerW, 'W')}`);
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
  const profile = program.command('profile').description('list, show and validate hardware profiles (hw-profiles/*.json and your own)');

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
      const { loadProfile, macCost, profileDirs } = await hw();
      const p = loadProfile(nameOrPath, 'profile', profileDirs(opts.profilesDir));
      if (opts.json) printJson(summary(p, macCost));
      else printProfile(p, macCost);
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
    .command('schema')
    .description('print the JSON Schema of profiles (hw-profiles/schema.json is generated with this)')
    .action(async () => {
      const { profileJsonSchema } = await hw();
      process.stdout.write(JSON.stringify(profileJsonSchema(), null, 2) + '\n');
    });
}
