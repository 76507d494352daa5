// Run a shell test script that ends with "N passed, M failed" and write the same JSON report
// vitest writes (dist/test-results/<project>.json), so tools/test counts its tests too.
// Usage: node tools/run-shell-test.mjs <project> <script> [args...]
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const [project, script, ...args] = process.argv.slice(2);
if (!project || !script) {
  console.error('usage: node tools/run-shell-test.mjs <project> <script> [args...]');
  process.exit(2);
}
const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
let tail = '';
const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  tail = (tail + d.toString()).slice(-4096);
});
child.on('close', (code) => {
  const m = [...tail.matchAll(/^(\d+) passed, (\d+) failed/gm)].pop();
  const passed = m ? Number(m[1]) : 0;
  const failed = m ? Number(m[2]) : 1;
  const report = join(root, 'dist', 'test-results', `${project}.json`);
  mkdirSync(dirname(report), { recursive: true });
  writeFileSync(report, JSON.stringify({ numPassedTests: passed, numFailedTests: failed, numFailedTestSuites: code === 0 ? 0 : 1, numPendingTests: 0, numTodoTests: 0, success: code === 0 }));
  if (!m) console.error(`${script}: no "N passed, M failed" line`);
  process.exit(code === 0 && m ? 0 : 1);
});
