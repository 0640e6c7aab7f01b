import type { Command } from 'commander';
import { formatSI } from '../../format.js';
import type { HardwareProfile } from '../../hw/profile.js';

const hw = () => import('../../hw/index.js');
import { printJson } from '../output.js';

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

function printProfile(profile: HardwareProfile, macCost: Parameters<typeof formatTable>[1]): void {
  const out: string[] = [];
  out.push(`${profile.name} (${profile.file})`, `  ${profile.description}`, '');
  out.push(`clock       ${formatSI(profile.clockHz, 'Hz')}`);
  out.push(`formats     ${profile.formats.map((f) => `${f.name}${f.float ? ' (float)' : ''}`).join(', ')}; operands ${profile.operands}; wider operands: ${profile.aboveMax}`);
  out.push(`macEnergy     = ${profile.macEnergyExpr}`);
  out.push(`macThroughput = ${profile.macThroughputExpr}`);
  const diagonal = formatTable(profile, macCost).filter((r) => r.ba === r.bw);
  out.push('', 'per MAC at equal operand widths:');
  for (const r of diagonal) out.push(`  ${r.format.padEnd(8)} ${formatSI(r.macEnergyJ, 'J').padStart(10)}   ${formatSI(r.macsPerS, 'MAC/s').padStart(14)}`);
  out.push('', 'memory (nearest the MACs first):');
  for (const m of profile.memory) {
    const capacity = Number.isFinite(m.capacityBits) ? formatSI(m.capacityBits / 8, 'B') : 'unbounded';
    out.push(`  ${m.name.padEnd(16)} ${capacity.padStart(10)}  read ${formatSI(m.readEnergyPerBitJ, 'J/bit')}  write ${formatSI(m.writeEnergyPerBitJ, 'J/bit')}  ${formatSI(m.bandwidthBitsPerS / 8, 'B/s')}`);
  }
  if (profile.staticPowerW > 0) out.push('', `static power ${formatSI(profile.staticPowerW, 'W')}`);
  out.push('', 'sources:');
  for (const s of profile.sources) out.push(`  - ${s.title}${s.url ? ` <${s.url}>` : ''}${s.uses ? `\n    ${s.uses}` : ''}`);
  if (profile.notes.length) {
    out.push('', 'notes:');
    for (const n of profile.notes) out.push(`  - ${n}`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

export function register(program: Command): void {
  const profile = program.command('profile').description('list, show and validate hardware profiles (hw-profiles/*.json)');

  profile
    .command('list')
    .description('list the shipped hardware profiles')
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }) => {
      const { loadProfile, shippedProfileNames } = await hw();
      const profiles = shippedProfileNames().map((name) => loadProfile(name));
      if (opts.json) {
        printJson({ profiles: profiles.map((p) => ({ name: p.name, description: p.description, file: p.file })) });
        return;
      }
      const width = Math.max(...profiles.map((p) => p.name.length));
      for (const p of profiles) process.stdout.write(`${p.name.padEnd(width)}  ${p.description}\n`);
    });

  profile
    .command('show')
    .description('show a profile: formats, energy and rate per MAC, memory levels, sources')
    .argument('<profile>', 'a shipped profile name or a path to a JSON file')
    .option('--json', 'print one JSON object')
    .action(async (nameOrPath: string, opts: { json?: boolean }) => {
      const { loadProfile, macCost } = await hw();
      const p = loadProfile(nameOrPath, 'profile');
      if (opts.json) printJson(summary(p, macCost));
      else printProfile(p, macCost);
    });

  profile
    .command('validate')
    .description('check profile files; prints one line per file, exit code 2 at the first bad one')
    .argument('<files...>', 'profile JSON files')
    .action(async (files: string[]) => {
      const { loadProfileFile } = await hw();
      for (const file of files) {
        const p = loadProfileFile(file);
        process.stdout.write(`${p.file}: ok (${p.name}: ${p.formats.length} formats, ${p.memory.length} memory levels)\n`);
      }
    });

  profile
    .command('schema')
    .description('print the JSON Schema of profiles (hw-profiles/schema.json is generated with this)')
    .action(async () => {
      const { profileJsonSchema } = await hw();
      process.stdout.write(JSON.stringify(profileJsonSchema(), null, 2) + '\n');
    });
}
