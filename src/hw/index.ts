/**
 * The analytic accelerator cost model: hardware profiles (data) and pure cost functions
 * `(layer shapes, bit tuple, profile) → cost breakdown`. See docs/hardware-model.md.
 */
export * from './expr.js';
export * from './profile.js';
export * from './limits.js';
export * from './cost.js';
export * from './tally.js';
export * from './savings.js';
export * from './load.js';
export * from './host-profile.js';
