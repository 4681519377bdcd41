import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resourceOf, synthPipeline } from './synth';

// Each function's bundle as `cdk deploy` ships it: minified, with its source map in a file beside
// it (index.mjs.map, no sources inside), never inlined. README "Function size" has the numbers.
// The goal was 250 KB per index.mjs; with the AWS SDK bundled (deliberately: the runtime's own SDK
// loaded 2-3x slower) the SDK core and one client alone are over 200 KB, so the guard is the
// measured size plus a little room: a bundle that grows past it pulled in something new.
const MAX_INDEX_BYTES = 560 * 1024;

const FUNCTIONS = ['Collector', 'Validator', 'Loader', 'Generator'] as const;
const assetDirs: Record<string, string> = {};

beforeAll(() => {
  const { app, template } = synthPipeline({ 'aws:cdk:enable-asset-metadata': true });
  for (const name of FUNCTIONS) {
    const assetPath = resourceOf(template, 'AWS::Lambda::Function', name).resource.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string') throw new Error(`${name} has no asset path`);
    assetDirs[name] = join(app.outdir, assetPath);
  }
});

describe.each(FUNCTIONS)('%s bundle', (name) => {
  it(`index.mjs is at most ${MAX_INDEX_BYTES / 1024} KB and minified`, () => {
    const file = join(assetDirs[name]!, 'index.mjs');
    expect(statSync(file).size).toBeLessThanOrEqual(MAX_INDEX_BYTES);
    // Minified: a handful of very long lines, not tens of thousands of short ones.
    expect(readFileSync(file, 'utf8').split('\n').length).toBeLessThan(2_000);
  });

  it('has its source map beside it, not inline, without the sources', () => {
    const code = readFileSync(join(assetDirs[name]!, 'index.mjs'), 'utf8');
    expect(code).not.toContain('sourceMappingURL=data:');
    expect(code.trimEnd().endsWith('//# sourceMappingURL=index.mjs.map')).toBe(true);
    const map = JSON.parse(readFileSync(join(assetDirs[name]!, 'index.mjs.map'), 'utf8'));
    expect(map.version).toBe(3);
    expect(map.sourcesContent ?? []).toHaveLength(0);
  });

  it('bundles no X-Ray SDK (the Powertools tracer is not used)', () => {
    expect(readFileSync(join(assetDirs[name]!, 'index.mjs'), 'utf8')).not.toContain('aws-xray-sdk');
  });
});
