export * from './tick.js';
export * from './scan.js';
export * from './commands.js';
export * from './symbols.js';
export * from './clock.js';
export * from './framing.js';
export * from './codes.js';
export * from './modes.js';
