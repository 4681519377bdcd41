import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boundedErrorCode, METRIC, VALIDATION_ERROR_CODES } from '../../../lambdas/shared/metric-names';

const root = join(import.meta.dirname, '..', '..', '..');
const MODULE = 'lambdas/shared/metric-names.ts';
/**
 * Files still being written by other work, checked once it lands: the local web dashboard
 * (tools/local-cloud/dashboard) names the counters it charts. Remove the entry to hold it to the rule.
 */
const PENDING: string[] = [];

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules') return [];
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return /\.(ts|js|mjs)$/.test(name) ? [path] : [];
  });
}

describe('metric names', () => {
  const files = [...sources('lambdas'), ...sources('lib'), ...sources('tools')]
    .map((path) => relative(root, join(root, path)).split('\\').join('/'))
    .filter((path) => path !== MODULE);
  const names = Object.values(METRIC);
  const literal = new RegExp(`(['"\`])(${names.join('|')})\\1`);

  it('has one entry per name, keyed by itself', () => {
    for (const [key, value] of Object.entries(METRIC)) expect(value).toBe(key);
  });

  it('no addMetric call takes a string literal', () => {
    const offenders = files.filter((path) => /addMetric\(\s*['"`]/.test(readFileSync(join(root, path), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('no metric name is spelled as a string literal outside the module', () => {
    const offenders = files
      .filter((path) => !PENDING.some((prefix) => path.startsWith(prefix)))
      .flatMap((path) =>
        readFileSync(join(root, path), 'utf8')
          .split('\n')
          .map((line, i) => ({ line, at: `${path}:${i + 1}` }))
          .filter(({ line }) => literal.test(line))
          .map(({ at, line }) => `${at}: ${line.trim()}`),
      );
    expect(offenders).toEqual([]);
  });

  it('bounds the error code dimension to the known codes', () => {
    expect(boundedErrorCode('too_small')).toBe('too_small');
    expect(boundedErrorCode('anything a producer invents')).toBe('other');
    expect(VALIDATION_ERROR_CODES).toContain('not_json');
  });
});
