/**
 * The keypress hub: each screen declares its key map as data (keys → action + help text); one
 * `useInput` per app turns a keypress into a key name, looks it up in the current screen's map
 * and dispatches the action. The help overlay renders the very same map, so it cannot drift.
 */
import type { Key } from 'ink';

export interface KeyBinding<A> {
  /** Key names as returned by `keyName` (e.g. 'q', 'enter', 'up', 'space', '?'). */
  keys: readonly string[];
  /** One short line for the help overlay. */
  help: string;
  /** One or two words for the hint line (omit to leave the binding out of the hint line). */
  hint?: string;
  action: A;
}

export type KeyMap<A> = readonly KeyBinding<A>[];

/** A stable name for a keypress: special keys by name, printable keys by their character. */
export function keyName(input: string, key: Key): string {
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.leftArrow) return 'left';
  if (key.rightArrow) return 'right';
  if (key.pageUp) return 'pageup';
  if (key.pageDown) return 'pagedown';
  if (key.home) return 'home';
  if (key.end) return 'end';
  if (key.return) return 'enter';
  if (key.escape) return 'escape';
  if (key.tab) return key.shift ? 'shift-tab' : 'tab';
  if (key.backspace || key.delete) return 'backspace';
  if (key.ctrl && input) return `ctrl-${input.toLowerCase()}`;
  if (input === ' ') return 'space';
  return input;
}

export function lookupKey<A>(map: KeyMap<A>, name: string): A | undefined {
  for (const binding of map) if (binding.keys.includes(name)) return binding.action;
  return undefined;
}

const LABELS: Record<string, string> = {
  up: '↑',
  down: '↓',
  left: '←',
  right: '→',
  pageup: 'PgUp',
  pagedown: 'PgDn',
  enter: 'Enter',
  escape: 'Esc',
  space: 'Space',
  backspace: 'Bksp',
  home: 'Home',
  end: 'End',
  tab: 'Tab',
};

/** "↑/k" for a binding's keys, as shown in help and hint lines. */
export function keyLabel(keys: readonly string[]): string {
  return keys.map((k) => LABELS[k] ?? k).join('/');
}
