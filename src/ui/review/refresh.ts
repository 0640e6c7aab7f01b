/**
 * Re-reading a runs directory cheaply, for the review's reload (`r`, and every 2 s while a run is
 * running): one readdir, one stat of each run.json, and a parse only of the run.json files that
 * are new or changed (size or mtime). A run whose run.json did not change but says `running` is
 * checked again for a live process (it may have been killed).
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { displayStatus, readEntry, runDirectories, type RunEntry } from '../../runs/read.js';

/** Size and mtime of a file, or '' when it cannot be read. */
function signature(file: string): string {
  try {
    const st = statSync(file);
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return '';
  }
}

const signatureOf = (dir: string) => `${signature(join(dir, 'run.json'))}|${signature(join(dir, 'steps.csv')) ? 1 : 0}`;

/** A `refreshRuns` for ReviewIO that knows the run.json files of `initial` as read. */
export function createRunsRefresher(initial: readonly RunEntry[] = []): (runsDir: string, previous: readonly RunEntry[]) => RunEntry[] {
  const seen = new Map<string, string>();
  for (const e of initial) seen.set(e.dir, signatureOf(e.dir));
  return (runsDir, previous) => {
    const byDir = new Map(previous.map((e) => [e.dir, e]));
    const out: RunEntry[] = [];
    for (const dir of runDirectories(runsDir)) {
      const abs = resolve(dir);
      const sig = signatureOf(abs);
      const old = byDir.get(abs);
      if (old && seen.get(abs) === sig) {
        if (!old.damaged && ((old.run.status as string) === 'running' || (old.run.status as string) === 'starting')) {
          const status = displayStatus(old.run);
          out.push(status === old.status ? old : { ...old, status });
        } else out.push(old);
        continue;
      }
      seen.set(abs, sig);
      out.push(readEntry(dir));
    }
    const unchanged = out.length === previous.length && out.every((e, i) => e === previous[i]);
    return unchanged ? (previous as RunEntry[]) : out;
  };
}
