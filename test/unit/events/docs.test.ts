import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENRICHMENT_FIELDS, ERROR_CODES, FIELDS_BY_VERSION } from '../../../lambdas/shared/events';

const doc = readFileSync(new URL('../../../docs/events.md', import.meta.url), 'utf8');

/** Rows of the markdown table that follows `## <heading>`. */
function tableRows(heading: string): string[][] {
  const section = doc.split(`## ${heading}`)[1]?.split('\n## ')[0] ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
}

describe('docs/events.md matches the module', () => {
  it('lists exactly the error codes of ERROR_CODES', () => {
    const documented = tableRows('Error codes').map((row) => row[0]!.replaceAll('`', ''));
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('lists each version’s fields with the right version marks', () => {
    const rows = tableRows('Versions and fields');
    for (const version of [1, 2, 3] as const) {
      const marked = rows.filter((row) => row[version] === '✓').map((row) => row[0]);
      expect(marked.sort(), `v${version}`).toEqual([...FIELDS_BY_VERSION[version]].sort());
    }
  });

  it('lists exactly the enrichment fields', () => {
    const documented = tableRows('Enrichment').map((row) => row[0]);
    expect(documented.sort()).toEqual([...ENRICHMENT_FIELDS].sort());
  });
});
