import { describe, expect, it } from 'vitest';
import { installInterruptHandlers, interruptExitCode, interruptSignal, withInterrupt } from './interrupt.js';

describe('interrupt handlers (one set per process)', () => {
  it('the first signal aborts; Nx sending SIGTERM with it, and SIGHUP, do not force an exit; a second Ctrl-C later does', async () => {
    const exits: number[] = [];
    const notes: string[] = [];
    const own = new AbortController();
    const either = withInterrupt(own.signal);
    expect(interruptSignal().aborted).toBe(false);
    expect(interruptExitCode()).toBeUndefined();
    installInterruptHandlers({ graceMs: 5_000, write: (t) => void notes.push(t), exit: (c) => void exits.push(c) });
    installInterruptHandlers({ exit: () => exits.push(-1) }); // once per process: ignored

    process.emit('SIGINT');
    expect(interruptSignal().aborted).toBe(true);
    expect((interruptSignal().reason as Error).message).toBe('SIGINT');
    expect(either.aborted).toBe(true); // a caller's signal combined with it
    expect(interruptExitCode()).toBe(130);
    expect(notes.join('')).toContain('SIGINT: stopping');

    process.emit('SIGTERM'); // within a second of the first: the same stop
    process.emit('SIGHUP'); // the terminal going away: never forces
    expect(exits).toEqual([]);

    await new Promise((r) => setTimeout(r, 1_100));
    process.emit('SIGHUP');
    expect(exits).toEqual([]);
    process.emit('SIGINT'); // a second Ctrl-C: now, with the first signal's status
    expect(exits).toEqual([130]);
  });
});
