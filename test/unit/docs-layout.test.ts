// The layout the docs draw is the tree: docs/architecture.md's Layout block and the local cloud's
// file table name what exists, and everything that exists is named there.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const entries = (dir: string) => readdirSync(join(root, dir));
const dirs = (dir: string) => entries(dir).filter((name) => statSync(join(root, dir, name)).isDirectory());

/** The first code block after `## Layout` in docs/architecture.md. */
function layoutBlock(): string {
  const page = read('docs/architecture.md');
  const section = page.slice(page.indexOf('## Layout'));
  const match = /```\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('docs/architecture.md has no Layout code block');
  return match[1]!;
}

/** Paths the block names: top-level entries (`bin/app.ts`, `lib/`) and those indented under the last top-level folder. */
function layoutPaths(block: string): string[] {
  const paths: string[] = [];
  let parent = '';
  for (const line of block.split('\n')) {
    const top = /^([a-z][\w./-]*)\s/.exec(line);
    const nested = /^ {2}([a-z][\w.*/-]*)\s/.exec(line);
    if (top) {
      const path = top[1]!.replace(/,$/, '');
      paths.push(path);
      if (path.endsWith('/')) parent = path;
    } else if (nested && parent) {
      paths.push(parent + nested[1]);
    }
  }
  return paths;
}

describe('docs/architecture.md Layout matches the tree', () => {
  const block = layoutBlock();
  const paths = layoutPaths(block);

  it('every path it names exists', () => {
    expect(paths.length).toBeGreaterThan(15);
    const missing = paths.filter((path) => !existsSync(join(root, path.replace(/\*\.ts$/, ''))));
    expect(missing).toEqual([]);
  });

  it('names every folder of lambdas/ and tools/ and every file at the root of lib/', () => {
    const expected = [
      ...dirs('lambdas').map((name) => `lambdas/${name}/`),
      ...dirs('tools').map((name) => `tools/${name}/`),
      ...entries('lib').filter((name) => name.endsWith('.ts')).map((name) => `lib/${name}`),
      ...['bin', 'lib', 'lambdas', 'tools', 'bench', 'docs'].map((name) => `${name}/`).filter((path) => path !== 'bin/'),
    ];
    expect(expected.filter((path) => !paths.includes(path))).toEqual([]);
  });

  it('names every construct module', () => {
    const constructs = entries('lib/constructs').filter((name) => name.endsWith('.ts')).map((name) => name.replace(/\.ts$/, ''));
    const line = block.slice(block.indexOf('constructs/*.ts'), block.indexOf('stack-name.ts'));
    expect(constructs.filter((name) => !new RegExp(`\\b${name}\\b`).test(line))).toEqual([]);
  });

  it('names every test tier', () => {
    const named = block.split('\n').find((l) => l.startsWith('test/')) ?? '';
    expect(dirs('test').filter((name) => !named.includes(`test/${name}`))).toEqual([]);
  });
});

describe('tools/local-cloud/README.md names its files', () => {
  const table = read('tools/local-cloud/README.md');
  const named = new Set([...table.matchAll(/`([\w./-]+\.(?:ts|mjs))`|`([\w-]+\/)`/g)].map((m) => m[1] ?? m[2]!));

  it('every file it names exists', () => {
    const missing = [...named].filter((path) => !existsSync(join(root, 'tools/local-cloud', path)));
    expect(missing).toEqual([]);
  });

  it('every module and folder of the local cloud is named', () => {
    const files = entries('tools/local-cloud').filter((name) => /\.(ts|mjs)$/.test(name));
    const folders = dirs('tools/local-cloud').map((name) => `${name}/`);
    const inFolders = ['api-gateway', 'intrinsics'].flatMap((dir) => entries(`tools/local-cloud/${dir}`).map((name) => `${dir}/${name}`));
    const covered = (path: string) => named.has(path) || (path.startsWith('services/') && named.has('services/')) || (path.startsWith('dashboard/') && named.has('dashboard/'));
    expect([...files, ...folders.filter((f) => f !== 'api-gateway/' && f !== 'intrinsics/'), ...inFolders].filter((path) => !covered(path))).toEqual([]);
  });
});
