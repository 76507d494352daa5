/** The coordinator program's entry (bundled into one file by bundle.ts). */
import { flushOutput } from '@labrig/core';
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    flushOutput();
    process.exit(code);
  },
  (e: unknown) => {
    console.error((e as Error).stack ?? String(e));
    flushOutput();
    process.exit(1);
  },
);
