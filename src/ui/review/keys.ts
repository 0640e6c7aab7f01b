/**
 * Key maps of the review screens and the hub's pure lookup: (state, key) → intent. The help
 * overlay of each screen renders the same map.
 */
import { type KeyMap, lookupKey } from '../keys.js';
import { cleanFilterText } from './model.js';
import { currentScreen, type ReviewState, type ScreenName } from './state.js';

export type ReviewIntent =
  | 'up'
  | 'down'
  | 'page-up'
  | 'page-down'
  | 'top'
  | 'bottom'
  | 'open'
  | 'mark'
  | 'clear-marks'
  | 'compare'
  | 'scatter'
  | 'estimate'
  | 'run-estimate'
  | 'sort'
  | 'reverse'
  | 'filter'
  | 'clear-filter'
  | 'reload'
  | 'next-group'
  | 'prev-group'
  | 'back'
  | 'quit'
  | 'help';

const HELP: KeyMap<ReviewIntent> = [{ keys: ['?'], help: 'show / hide this help', hint: 'help', action: 'help' }];
const RELOAD: KeyMap<ReviewIntent> = [{ keys: ['r'], help: 'reload: new runs, progress of running runs (automatic every 2 s while a run is running)', action: 'reload' }];

export const REVIEW_KEYS: Record<ScreenName, KeyMap<ReviewIntent>> = {
  list: [
    { keys: ['up', 'k'], help: 'previous run', action: 'up' },
    { keys: ['down', 'j'], help: 'next run', action: 'down' },
    { keys: ['pageup'], help: 'page up', action: 'page-up' },
    { keys: ['pagedown'], help: 'page down', action: 'page-down' },
    { keys: ['home', 'g'], help: 'first run', action: 'top' },
    { keys: ['end', 'G'], help: 'last run', action: 'bottom' },
    { keys: ['enter'], help: 'open the run (curves, schedule, cost breakdown, config)', hint: 'open', action: 'open' },
    { keys: ['/'], help: 'filter: type words (all must match); Enter keeps it, Esc clears it', hint: 'filter', action: 'filter' },
    { keys: ['escape'], help: 'clear the filter', action: 'clear-filter' },
    { keys: ['space'], help: 'mark / unmark the run', hint: 'mark', action: 'mark' },
    { keys: ['u'], help: 'unmark all runs', action: 'clear-marks' },
    { keys: ['c'], help: 'compare the marked runs', hint: 'compare', action: 'compare' },
    { keys: ['x'], help: 'energy vs accuracy scatter with the Pareto front, per group of comparable runs', hint: 'scatter', action: 'scatter' },
    { keys: ['e'], help: 're-estimate the marked runs (or this one) on another profile', hint: 're-estimate', action: 'estimate' },
    { keys: ['s'], help: 'sort by the next column', hint: 'sort', action: 'sort' },
    { keys: ['S'], help: 'reverse the sort order', action: 'reverse' },
    ...RELOAD,
    ...HELP,
    { keys: ['q'], help: 'quit', hint: 'quit', action: 'quit' },
  ],
  detail: [
    { keys: ['e'], help: 're-estimate this run on another profile', hint: 're-estimate', action: 'estimate' },
    ...RELOAD,
    ...HELP,
    { keys: ['q', 'escape'], help: 'back to the list', hint: 'back', action: 'back' },
  ],
  compare: [
    { keys: ['x'], help: 'energy vs accuracy scatter', hint: 'scatter', action: 'scatter' },
    { keys: ['e'], help: 're-estimate these runs on another profile', hint: 're-estimate', action: 'estimate' },
    ...RELOAD,
    ...HELP,
    { keys: ['q', 'escape'], help: 'back', hint: 'back', action: 'back' },
  ],
  scatter: [
    { keys: ['right', 'n'], help: 'next group of comparable runs (data set · model · steps · profile)', hint: 'next group', action: 'next-group' },
    { keys: ['left', 'p'], help: 'previous group', action: 'prev-group' },
    ...RELOAD,
    ...HELP,
    { keys: ['q', 'escape'], help: 'back', hint: 'back', action: 'back' },
  ],
  estimate: [
    { keys: ['up', 'k'], help: 'previous profile', action: 'up' },
    { keys: ['down', 'j'], help: 'next profile', action: 'down' },
    { keys: ['enter'], help: 're-estimate on the chosen profile', hint: 'estimate', action: 'run-estimate' },
    ...HELP,
    { keys: ['q', 'escape'], help: 'back (to the profile list, then out)', hint: 'back', action: 'back' },
  ],
};

export const FILTER_KEYS: KeyMap<'accept' | 'cancel' | 'erase'> = [
  { keys: ['enter'], help: 'keep the filter', hint: 'keep', action: 'accept' },
  { keys: ['escape'], help: 'clear the filter', hint: 'clear', action: 'cancel' },
  { keys: ['backspace'], help: 'delete a character', action: 'erase' },
];

export type HubResult = { intent: ReviewIntent } | { filter: 'accept' | 'cancel' | 'erase'; count?: number } | { text: string } | null;

/** What the help overlay says closes it (the hub below does exactly that). */
export const HELP_CLOSE_HINT = 'press ?, Esc or q to close';

/**
 * The hub: what a keypress means in the current state. While the filter is typed every printable
 * key is text (`q` too); a paste arrives as one string and is kept without its control characters.
 */
export function interpretKey(state: ReviewState, name: string, input: string): HubResult {
  if (state.filtering) {
    const f = lookupKey(FILTER_KEYS, name);
    if (f) return { filter: f };
    if (name === 'space') return { text: ' ' };
    if (name !== input || input.length === 0) return null; // arrows, ctrl-keys …: not text
    // a held Backspace: several in one read
    if (/^[\u007f\b]+$/.test(input)) return { filter: 'erase', count: input.length };
    const text = cleanFilterText(input);
    return text ? { text } : null;
  }
  if (state.help) {
    if (name === '?' || name === 'escape' || name === 'q') return { intent: 'help' };
    return null;
  }
  const intent = lookupKey(REVIEW_KEYS[currentScreen(state)], name);
  return intent ? { intent } : null;
}
