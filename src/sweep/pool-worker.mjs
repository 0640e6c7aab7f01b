// Worker-thread entry of the local sweep pool: registers tsx's loader inside the worker (loader
// hooks registered by the parent thread are not inherited), then runs the TypeScript worker body.
import { register } from 'tsx/esm/api';

register();
await import('./pool-worker.ts');
