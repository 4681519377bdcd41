import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The README and the docs say what the code does; these checks catch the drift that is easy to
// miss in review: a context key nobody documented, a contract copy that went stale.
const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

describe('documentation agrees with the code', () => {
  it('documents every cdk.json context key in the README configuration table', () => {
    const context = (JSON.parse(read('cdk.json')) as { context: Record<string, unknown> }).context;
    const readme = read('README.md');
    const table = readme.slice(readme.indexOf('## Configuration'));
    for (const [key, value] of Object.entries(context)) {
      expect(table, `README configuration table lacks ${key}`).toContain(`\`${key}\``);
      expect(table, `README default for ${key}`).toContain(`\`${String(value)}\``);
    }
  });

  it('keeps docs/contract.md identical to the shared public contract when it is beside the repo', () => {
    const shared = path.resolve(root, '../shared/contract.md');
    if (!existsSync(shared)) return;
    expect(read('docs/contract.md')).toBe(readFileSync(shared, 'utf8'));
  });

  it('lists in the README every npm script it tells users to run', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    const mentioned = [...read('README.md').matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]!);
    expect(mentioned.length).toBeGreaterThan(0);
    for (const name of mentioned) expect(scripts, `npm run ${name}`).toHaveProperty(name);
  });
});
