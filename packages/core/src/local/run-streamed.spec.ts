import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { redactWrites, type PatchableStream } from '../output.js';
import { createRedactor, REDACTED } from '../redact.js';
import { describeExit, runStreamed } from './run-streamed.js';

function collect(s: PassThrough): { text: () => string; at: number[] } {
  const chunks: string[] = [];
  const at: number[] = [];
  s.on('data', (c: Buffer) => {
    chunks.push(c.toString('utf8'));
    at.push(Date.now());
  });
  return { text: () => chunks.join(''), at };
}

describe('runStreamed', () => {
  it("routes a child's stdout and stderr through the streams' (redacting) write, split secrets included", async () => {
    const secret = 'cAnArY-"q\\-42';
    const out = new PassThrough();
    const err = new PassThrough();
    const o = collect(out);
    const e = collect(err);
    const r = redactWrites([out as unknown as PatchableStream, err as unknown as PatchableStream], { redactor: createRedactor([secret]), flushMs: 2000 });
    const half = secret.length >> 1;
    const script = 'printf "%s" "$A"; sleep 0.3; printf "%s\\n" "$B"; printf "err %s\\n" "$A$B" >&2; exit 3';
    const res = await runStreamed('sh', ['-c', script], {
      stdin: 'ignore',
      stdout: out,
      stderr: err,
      env: { ...process.env, A: secret.slice(0, half), B: secret.slice(half) },
    });
    r.uninstall();
    expect(res).toEqual({ exitCode: 3, signal: null });
    expect(describeExit(res)).toBe('exited with 3');
    expect(o.text()).toBe(`${REDACTED}\n`);
    expect(e.text()).toBe(`err ${REDACTED}\n`);
  });

  it('streams live: output arrives while the child still runs', async () => {
    const out = new PassThrough();
    const o = collect(out);
    const t0 = Date.now();
    const res = await runStreamed('sh', ['-c', 'echo first; sleep 0.5; echo second'], { stdin: 'ignore', stdout: out, stderr: new PassThrough() });
    const t1 = Date.now();
    expect(res.exitCode).toBe(0);
    expect(o.text()).toBe('first\nsecond\n');
    expect(o.at[0]! - t0).toBeLessThan(t1 - t0 - 300);
  });

  it('reports a signal and a command that cannot start, never throwing', async () => {
    const killed = await runStreamed('sh', ['-c', 'kill -TERM $$'], { stdin: 'ignore', stdout: new PassThrough(), stderr: new PassThrough() });
    expect(killed).toEqual({ exitCode: null, signal: 'SIGTERM' });
    expect(describeExit(killed)).toBe('was killed by SIGTERM');
    const missing = await runStreamed('labrig-no-such-command-xyz', [], { stdin: 'ignore', stdout: new PassThrough(), stderr: new PassThrough() });
    expect(missing.exitCode).toBeNull();
    expect(missing.error?.message).toContain('ENOENT');
    expect(describeExit(missing)).toMatch(/^could not start \(.*ENOENT/);
  });
});
