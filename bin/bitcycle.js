#!/usr/bin/env node
// Launcher: registers tsx's TypeScript loader in this process (no child process, so signals
// reach the CLI directly) and runs the CLI from source; no build step is needed.
import { register } from 'tsx/esm/api';

// React (Ink) in development mode costs several times more per frame; users get production.
process.env.NODE_ENV ??= 'production';
register();
const { main, reportError } = await import('../src/cli/main.ts');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.exitCode = reportError(err);
}
