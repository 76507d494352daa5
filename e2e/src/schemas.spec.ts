/**
 * configs/schemas/ holds the JSON Schemas editors use for system files and experiment plans: they
 * must be the very schemas labrig validates with, not copies that drifted.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '../..');
const json = (rel: string) => JSON.parse(readFileSync(join(repo, rel), 'utf8')) as unknown;

describe('configs/schemas', () => {
  it.each([
    ['configs/schemas/experiment.schema.json', 'packages/experiments/src/plan/plan.schema.json'],
    ['configs/schemas/system.schema.json', 'plugins/systems/generic/src/system.schema.json'],
  ])('%s is %s', (copy, source) => {
    expect(json(copy), `copy ${source} to ${copy}`).toEqual(json(source));
  });
});
