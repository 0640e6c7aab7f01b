/**
 * `bitcycle review`: the store-connected root (one keypress hub for every review screen) and
 * `runReview`, which renders it with Ink until the user quits.
 */
import { render, useInput } from 'ink';
import { useEffect, useSyncExternalStore } from 'react';
import { listRuns } from '../../runs/read.js';
import { keyName } from '../keys.js';
import { useTerminalSize } from '../terminal.js';
import { createReviewController, type ReviewController, type ReviewIO } from './controller.js';
import { defaultReviewIO } from './io.js';
import { createRunsRefresher } from './refresh.js';
import { ReviewScreen } from './screens.js';
import { initialReviewState } from './state.js';

/** Lines of the list screen that are not table rows (title, filter, header, position, hints). */
export const LIST_CHROME_LINES = 7;

export function ReviewApp({ controller, width, height }: { controller: ReviewController; width?: number; height?: number }) {
  const state = useSyncExternalStore(controller.store.subscribe, controller.store.getSnapshot);
  const size = useTerminalSize();
  const rows = height ?? size.rows;
  useEffect(() => {
    if (rows) controller.store.dispatch({ type: 'resize', pageSize: rows - LIST_CHROME_LINES });
  }, [rows, controller]);
  useInput((input, key) => controller.onKey(keyName(input, key), input));
  return <ReviewScreen state={state} width={width ?? (size.columns || 100)} />;
}

export interface ReviewOptions {
  runsDir: string;
  /** Profile directories re-estimate offers (`--profiles-dir`, BITCYCLE_PROFILES, shipped). */
  profileDirs?: string[];
  io?: Partial<ReviewIO>;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
}

/** Render the review until `q` on the list; reloads while a run is running. */
export async function runReview(options: ReviewOptions): Promise<void> {
  const entries = listRuns(options.runsDir);
  let quit: () => void = () => undefined;
  const io: ReviewIO = { ...defaultReviewIO(() => quit(), options.profileDirs), refreshRuns: createRunsRefresher(entries), ...options.io };
  const stdout = options.stdout ?? process.stdout;
  const controller = createReviewController(initialReviewState(options.runsDir, entries, (stdout.rows || 24) - LIST_CHROME_LINES), io);
  const instance = render(<ReviewApp controller={controller} />, { stdout, stdin: options.stdin ?? process.stdin, patchConsole: false, exitOnCtrlC: true });
  quit = () => instance.unmount();
  controller.startPolling();
  try {
    await instance.waitUntilExit();
  } finally {
    controller.dispose();
  }
}
