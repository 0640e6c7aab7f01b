export * from './schedule.js';
export * from './precision.js';
export * from './lr.js';
export { type Domain, type ParsedPolicy, FUNCTIONS, allowedPolicies, formatPolicy, parsePolicy } from './policy.js';
export { type Fraction, type Shape, type ShapeKind, policyLevel, shapeLevel } from './shapes.js';
