export * from './schedule.js';
export * from './precision.js';
