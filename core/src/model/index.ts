export * from './config.js';
export * from './network.js';
export * from './forward.js';
export * from './ops.js';
export * from './io.js';
export * from './sparse.js';
