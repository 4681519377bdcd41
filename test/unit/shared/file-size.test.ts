// No source file over 400 lines: a file that long changes for more than one reason, so it is split by reason.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const ROOTS = ['lib', 'lambdas', 'tools', 'bin', 'bench', 'test'];
const MAX_LINES = 400;

/**
 * Files allowed over MAX_LINES, each with its reason: only data tables (one fact per line, nothing
 * to split by reason). None is today; the last test below fails once an entry is no longer needed.
 */
const ALLOWED: Record<string, string> = {};

function sources(dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = `${dir}/${name}`;
    if (name === 'node_modules' || name === 'cdk.out') return [];
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return /\.(ts|mjs)$/.test(name) ? [path] : [];
  });
}

/** Lines as `wc -l` counts them, plus a last line without a newline. */
function lineCount(text: string): number {
  const newlines = text.split('\n').length - 1;
  return text.length > 0 && !text.endsWith('\n') ? newlines + 1 : newlines;
}

describe('source file size', () => {
  it('counts lines as wc -l does', () => {
    expect(lineCount('')).toBe(0);
    expect(lineCount('a\n')).toBe(1);
    expect(lineCount('a\nb')).toBe(2);
    expect(lineCount('a\n\nb\n')).toBe(3);
  });

  it(`no .ts or .mjs file under ${ROOTS.join(', ')} is over ${MAX_LINES} lines, but the allowed ones`, () => {
    const files = ROOTS.flatMap(sources);
    expect(files.length).toBeGreaterThan(100);
    const over = files
      .map((path) => ({ path, lines: lineCount(readFileSync(join(root, path), 'utf8')) }))
      .filter(({ path, lines }) => lines > MAX_LINES && !(path in ALLOWED))
      .map(({ path, lines }) => `${path}: ${lines} lines (split it by reason to change)`);
    expect(over).toEqual([]);
  });

  it('every allowed file exists and is still over the limit (else its entry goes)', () => {
    const stale = Object.keys(ALLOWED).filter((path) => !existsSync(join(root, path)) || lineCount(readFileSync(join(root, path), 'utf8')) <= MAX_LINES);
    expect(stale).toEqual([]);
  });
});
