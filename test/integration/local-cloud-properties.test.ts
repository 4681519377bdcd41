import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCloud } from '../../tools/local-cloud/cloud';
import { RefusedPropertiesError } from '../../tools/local-cloud/property-review';
import type { CfnTemplate } from '../../tools/local-cloud/intrinsics/model';

// The fixture template in a cloud assembly of its own, with the raw-stream mapping set to
// ParallelizationFactor 2: the local cloud must refuse to start rather than run it as 1.
const fixture = JSON.parse(readFileSync(path.join(import.meta.dirname, '../fixtures/local-template.json'), 'utf8')) as CfnTemplate;
const workDir = mkdtempSync(path.join(tmpdir(), 'local-cloud-properties-'));
const cdkOut = path.join(workDir, 'cdk.out');
const outputsFile = path.join(workDir, 'outputs.json');

beforeAll(() => {
  mkdirSync(cdkOut);
  const template = structuredClone(fixture);
  template.Resources.ValidatorRawStreamSource9A8B7C6D!.Properties!.ParallelizationFactor = 2;
  writeFileSync(
    path.join(cdkOut, 'manifest.json'),
    JSON.stringify({
      version: '48.0.0',
      artifacts: { 'EcommercePipeline-local': { type: 'aws:cloudformation:stack', properties: { templateFile: 'EcommercePipeline-local.template.json' } } },
    }),
  );
  writeFileSync(path.join(cdkOut, 'EcommercePipeline-local.template.json'), JSON.stringify(template));
  for (const asset of ['asset.fixturecollector', 'asset.fixturevalidator', 'asset.fixturegenerator']) {
    mkdirSync(path.join(cdkOut, asset));
    writeFileSync(path.join(cdkOut, asset, 'index.mjs'), 'export const handler = async () => ({});\n');
  }
});

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('startLocalCloud on a template with a property it cannot run as AWS would', () => {
  it('refuses to start, names the resource and the property, and writes no outputs file', async () => {
    const lines: string[] = [];
    const started = startLocalCloud({ port: 0, cdkOut, skipSynth: true, outputsFile, generator: false, log: (line) => lines.push(line) });
    await expect(started).rejects.toThrow(RefusedPropertiesError);
    await expect(started).rejects.toThrow(/ValidatorRawStreamSource9A8B7C6D\.ParallelizationFactor = 2 \(AWS::Lambda::EventSourceMapping\)/);
    expect(existsSync(outputsFile)).toBe(false);
    // What is accepted without effect was still said before the refusal.
    expect(lines).toContain('  encryption settings (StreamEncryption, SSESpecification, SqsManagedSseEnabled): nothing is encrypted locally');
  });
});
