/**
 * The sweep's progress as text: on a terminal a block redrawn in place (counts, ETA, one line per
 * running run), elsewhere one line per finished run. Pure formatting, plus a small writer.
 */
import { fmtDuration } from '../format.js';
import { sanitizeShort } from '../util/text.js';
import type { RunOutcome } from './execute.js';
import type { SweepProgress } from './sweep.js';

/**
 * Seconds left: the steps still to train at the rate trained so far in this invocation, spread over
 * the workers; null until a rate is known.
 */
export function etaSeconds(p: SweepProgress, now: number): number | null {
  const elapsed = (now - p.startedAt) / 1000;
  if (p.stepsDone === 0 || elapsed <= 0 || p.stepsLeft === null) return null;
  return p.stepsLeft / (p.stepsDone / elapsed);
}

/** `runs 7/15 done · 2 running · 0 failed · 3 from before · ETA 12 s`. */
export function progressLine(p: SweepProgress, now: number): string {
  const finished = p.skipped + p.done;
  const eta = etaSeconds(p, now);
  const parts = [`runs ${finished}/${p.total} done`, `${p.running.size} running`, `${p.failed} failed`];
  if (p.skipped) parts.push(`${p.skipped} from before`);
  if (p.running.size === 0 && finished + p.failed >= p.total) parts.push(`${fmtDuration((now - p.startedAt) / 1000)} here`);
  else parts.push(eta === null ? 'ETA …' : `ETA ${fmtDuration(eta)}`);
  return parts.join(' · ');
}

/** The in-place block: the counts line, then each running run with its steps. */
export function progressBlock(p: SweepProgress, now: number, width: number): string[] {
  const lines = [progressLine(p, now)];
  for (const [name, r] of p.running) {
    const steps = r.total ? `${r.step}/${r.total} steps` : 'starting';
    lines.push(`  ${sanitizeShort(r.where, 12)}  ${sanitizeShort(name, Math.max(10, width - 40))}  ${steps}`);
  }
  return lines.map((l) => l.slice(0, width));
}

/** One line for a finished run (the log written when stdout is not a terminal). */
export function outcomeLine(o: RunOutcome, p: SweepProgress): string {
  const what = o.status === 'completed' ? `test acc ${o.testAccuracy === null ? '–' : `${(o.testAccuracy * 100).toFixed(2)} %`}` : o.status === 'failed' ? `FAILED: ${sanitizeShort(o.error ?? 'unknown error', 200)}` : o.status;
  return `[${p.skipped + p.done}/${p.total}] ${sanitizeShort(o.name, 120)}  ${what}`;
}

/** Draws the block on a terminal (cursor up and clear), at most every `intervalMs`. */
export class ProgressBlockWriter {
  private drawn = 0;
  private last = 0;
  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly intervalMs = 250,
  ) {}

  draw(p: SweepProgress, force = false): void {
    const now = Date.now();
    if (!force && now - this.last < this.intervalMs) return;
    this.last = now;
    const lines = progressBlock(p, now, Math.max(40, (this.out.columns ?? 100) - 1));
    let text = this.drawn ? `\x1b[${this.drawn}F` : '';
    for (const line of lines) text += `\x1b[2K${line}\n`;
    if (lines.length < this.drawn) text += '\x1b[0J';
    this.out.write(text);
    this.drawn = lines.length;
  }

  /** Print a line above the block (it stays in the scroll-back). */
  log(line: string, p: SweepProgress): void {
    if (this.drawn) this.out.write(`\x1b[${this.drawn}F\x1b[0J`);
    this.drawn = 0;
    this.out.write(`${line}\n`);
    this.draw(p, true);
  }
}
