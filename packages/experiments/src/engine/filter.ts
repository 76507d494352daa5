/**
 * `--only`: which runs a command touches. Comma-separated terms, all must match:
 *   `clients=4`   a parameter's value;
 *   `scaling`     an experiment of the plan;
 *   `3fa9c1`      a run id or its prefix (at least 4 hex digits), `3fa9c1d2e4-r2` one run.
 */
import { OptionError } from '@labrig/core';
import type { Plan } from '../plan/load.js';
import type { RunSpec } from '../plan/expand.js';

export type FilterTerm = { param: string; value: string } | { experiment: string } | { idPrefix: string };

export function parseFilter(text: string, plan: Plan): FilterTerm[] {
  const experiments = plan.experiments.map((e) => e.name);
  return text.split(',').map((raw) => {
    const t = raw.trim();
    const eq = t.indexOf('=');
    if (eq > 0) {
      const param = t.slice(0, eq);
      if (!plan.paramNames.includes(param)) throw new OptionError('only', text, `key=value terms over the plan's parameters (${plan.paramNames.join(', ')})`);
      return { param, value: t.slice(eq + 1) };
    }
    if (experiments.includes(t)) return { experiment: t };
    if (/^[0-9a-f]{4,}(-r\d+)?$/.test(t)) return { idPrefix: t };
    throw new OptionError('only', text, `comma-separated key=value parameters, experiment names (${experiments.join(', ')}) or run ids`);
  });
}

export function matchesFilter(terms: readonly FilterTerm[], r: RunSpec): boolean {
  return terms.every((t) =>
    'param' in t ? String(r.params[t.param]) === t.value : 'experiment' in t ? r.experiments.includes(t.experiment) : r.id.startsWith(t.idPrefix),
  );
}
