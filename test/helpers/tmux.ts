/**
 * A tmux pane for end-to-end tests of the terminal UI: start a command in a detached session of a
 * given size, read the screen (`capture-pane`), send one key at a time, wait for text. The app runs
 * with `env -u CI` in the command (Ink renders only the last frame under CI=true).
 */
import { execFileSync, spawnSync } from 'node:child_process';

const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });

export class TmuxPane {
  constructor(readonly session: string) {}

  /** Run `command` (a shell line) in a new detached session `columns`×`rows`. */
  start(command: string, columns: number, rows: number): void {
    tmux('new-session', '-d', '-s', this.session, '-x', String(columns), '-y', String(rows), command);
  }

  /** The visible screen ('' when the session is gone); with `history`, every line since the start, wrapped lines joined. */
  capture(history = false): string {
    try {
      return tmux('capture-pane', '-p', ...(history ? ['-J', '-S', '-'] : []), '-t', this.session);
    } catch {
      return '';
    }
  }

  /** One key (`j`, `Enter`, `Space`, …): one `send-keys` per key. */
  send(key: string): void {
    tmux('send-keys', '-t', this.session, key);
  }

  /** The screen once it contains `text`; throws with the last screen after `timeoutMs`. */
  async waitText(text: string | RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let screen = '';
    while (Date.now() < deadline) {
      screen = this.capture();
      if (typeof text === 'string' ? screen.includes(text) : text.test(screen)) return screen;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${String(text)}; screen was:\n${screen}`);
  }

  kill(): void {
    spawnSync('tmux', ['kill-session', '-t', this.session], { stdio: 'ignore' });
  }
}
