export * from './contracts.js';
export * from './errors.js';
export * from './quote.js';
