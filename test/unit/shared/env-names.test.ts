import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV, ENV_NAMES } from '../../../lambdas/shared/env-names';

const root = join(import.meta.dirname, '..', '..', '..');
const MODULE = 'lambdas/shared/env-names.ts';

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (name === 'node_modules') return [];
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return /\.(ts|js|mjs)$/.test(name) ? [path] : [];
  });
}

/** Code lines only: comments may name a variable. */
function codeLines(path: string): { line: string; at: string }[] {
  return readFileSync(join(root, path), 'utf8')
    .split('\n')
    .map((line, i) => ({ line, at: `${path}:${i + 1}` }))
    .filter(({ line }) => !/^\s*(\/\/|\/\*|\*)/.test(line));
}

describe('environment variable names', () => {
  const files = [...sources('lambdas'), ...sources('lib/constructs')].filter((path) => path !== MODULE);
  const names = ENV_NAMES.join('|');
  // 'NAME' (any quote), an object key `NAME:`, or `env.NAME` not reached through ENV.<group>.
  const spelled = new RegExp(`(['"\`])(${names})\\1|(^|[{,\\s])(${names})\\s*:|(?<!ENV\\.\\w+)\\.(${names})\\b`);

  it('has one entry per name, keyed by itself', () => {
    for (const group of Object.values(ENV)) for (const [key, value] of Object.entries(group)) expect(value).toBe(key);
  });

  it('no env helper or bind* call takes a string literal', () => {
    const call = /(getStringFromEnv|getNumberFromEnv|addEnvironment)\(\s*['"`]|\.bind\w+\([^,()]+,\s*['"`]/;
    const offenders = files.flatMap((path) => codeLines(path).filter(({ line }) => call.test(line)).map(({ at, line }) => `${at}: ${line.trim()}`));
    expect(offenders).toEqual([]);
  });

  it('no variable name is spelled outside the module in lambdas/ or lib/constructs', () => {
    const offenders = files.flatMap((path) =>
      codeLines(path)
        .filter(({ line }) => spelled.test(line))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(offenders).toEqual([]);
  });

  it('catches the ways a name can be spelled', () => {
    for (const line of [
      "getStringFromEnv('RAW_STREAM_NAME')",
      '  INGEST_URL: ingestUrl,',
      'process.env.CORS_ALLOWED_ORIGINS',
      'const raw = env.EVENTS_TTL_DAYS;',
    ])
      expect(spelled.test(line), line).toBe(true);
    expect(spelled.test('getStringFromEnv(ENV.collector.RAW_STREAM_NAME)')).toBe(false);
    expect(spelled.test('[ENV.generator.INGEST_URL]: ingestUrl,')).toBe(false);
  });
});
