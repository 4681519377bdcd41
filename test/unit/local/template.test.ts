import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachAssetDirs, readStackAssembly } from '../../../tools/local-cloud/template';
import type { CfnTemplate } from '../../../tools/local-cloud/intrinsics/model';
import { resolveTemplate } from '../../../tools/local-cloud/intrinsics/resolver';
import { describeGroups, groupResources } from '../../../tools/local-cloud/resource-types';
import { orderQueues } from '../../../tools/local-cloud/resources';

const fixture = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../fixtures/local-template.json'), 'utf8')) as CfnTemplate;
const options = { stackName: 'EcommercePipeline-local', region: 'us-east-1', accountId: '000000000000', endpoint: 'http://127.0.0.1:4566' };

let cdkOut: string;

// A cloud assembly as `cdk synth` writes it: manifest.json, the template, one folder per asset.
beforeAll(() => {
  cdkOut = mkdtempSync(path.join(tmpdir(), 'local-cdk-out-'));
  writeFileSync(
    path.join(cdkOut, 'manifest.json'),
    JSON.stringify({
      version: '48.0.0',
      artifacts: {
        'EcommercePipeline-local.assets': { type: 'cdk:asset-manifest', properties: { file: 'EcommercePipeline-local.assets.json' } },
        'EcommercePipeline-local': {
          type: 'aws:cloudformation:stack',
          environment: 'aws://unknown-account/unknown-region',
          properties: { templateFile: 'EcommercePipeline-local.template.json' },
          displayName: 'EcommercePipeline-local',
        },
      },
    }),
  );
  writeFileSync(path.join(cdkOut, 'EcommercePipeline-local.template.json'), JSON.stringify(fixture));
  for (const asset of ['asset.fixturecollector', 'asset.fixturevalidator', 'asset.fixturegenerator']) {
    mkdirSync(path.join(cdkOut, asset));
    writeFileSync(path.join(cdkOut, asset, 'index.mjs'), 'export const handler = async () => ({});\n');
  }
});

afterAll(() => rmSync(cdkOut, { recursive: true, force: true }));

describe('readStackAssembly', () => {
  it('finds the stack template through manifest.json', () => {
    const assembly = readStackAssembly(cdkOut, 'EcommercePipeline-local');
    expect(assembly.templatePath).toBe(path.join(cdkOut, 'EcommercePipeline-local.template.json'));
    expect(Object.keys(assembly.template.Resources)).toEqual(Object.keys(fixture.Resources));
  });

  it('maps each function to its asset folder from aws:asset:path, relative to cdk.out', () => {
    const assembly = readStackAssembly(cdkOut, 'EcommercePipeline-local');
    expect(assembly.assetDirs).toEqual({
      Collector1C2D3E4F: path.join(cdkOut, 'asset.fixturecollector'),
      Validator5F6A7B8C: path.join(cdkOut, 'asset.fixturevalidator'),
      Generator7E8F9A0B: path.join(cdkOut, 'asset.fixturegenerator'),
    });
  });

  it('finds a stack inside a nested stage assembly', () => {
    const outer = mkdtempSync(path.join(tmpdir(), 'local-cdk-outer-'));
    try {
      writeFileSync(
        path.join(outer, 'manifest.json'),
        JSON.stringify({ artifacts: { 'assembly-Local': { type: 'cdk:cloud-assembly', properties: { directoryName: path.relative(outer, cdkOut) } } } }),
      );
      expect(readStackAssembly(outer, 'EcommercePipeline-local').cdkOutDir).toBe(cdkOut);
    } finally {
      rmSync(outer, { recursive: true, force: true });
    }
  });

  it('says so when the stack is not in the assembly', () => {
    expect(() => readStackAssembly(cdkOut, 'EcommercePipeline-dev')).toThrow(/EcommercePipeline-dev is not in the cloud assembly/);
  });
});

describe('attachAssetDirs', () => {
  it('hands every function its bundle folder as __assetDir', () => {
    const assembly = readStackAssembly(cdkOut, 'EcommercePipeline-local');
    const resources = attachAssetDirs(resolveTemplate(assembly.template, options).resources, assembly);
    const functions = resources.filter((r) => r.type === 'AWS::Lambda::Function');
    expect(functions.map((f) => f.properties.__assetDir)).toEqual([
      path.join(cdkOut, 'asset.fixturecollector'),
      path.join(cdkOut, 'asset.fixturevalidator'),
      path.join(cdkOut, 'asset.fixturegenerator'),
    ]);
  });

  it('refuses a function without a bundle rather than skipping it', () => {
    const template: CfnTemplate = { Resources: { Inline: { Type: 'AWS::Lambda::Function', Properties: { Code: { ZipFile: 'x' } } } } };
    const assembly = { stackName: 's', cdkOutDir: cdkOut, templatePath: '', template, assetDirs: {} };
    expect(() => attachAssetDirs(resolveTemplate(template, options).resources, assembly)).toThrow(/Inline: the function has no aws:asset:path/);
  });
});

describe('resource groups listed at start-up', () => {
  const resources = resolveTemplate(fixture, options).resources;

  it('separates created, run, not emulated and unsupported types', () => {
    const groups = groupResources(resources);
    expect(new Set(groups.created.map((r) => r.type))).toEqual(
      new Set(['AWS::Kinesis::Stream', 'AWS::DynamoDB::Table', 'AWS::SQS::Queue', 'AWS::SecretsManager::Secret']),
    );
    expect(groups.runByRuntime.map((r) => r.type)).toContain('AWS::Lambda::EventSourceMapping');
    expect(groups.unsupported.map((r) => r.logicalId)).toEqual(['SnapshotTopicPolicy0F1E2D3C']);
    const lines = describeGroups(groups).join('\n');
    expect(lines).toContain('IAM is not enforced');
    expect(lines).toContain('SnapshotTopicPolicy0F1E2D3C (Custom::SnapshotExport)');
  });

  it('orders queues so a dead-letter target exists before the queue that names it', () => {
    const queues = resources.filter((r) => r.type === 'AWS::SQS::Queue');
    const reversed = [...queues].reverse();
    const ordered = orderQueues([queues[1]!, ...reversed.filter((q) => q !== queues[1])]).map((q) => q.logicalId);
    expect(ordered.indexOf('DeadLetterQueue9F481546')).toBeLessThan(ordered.indexOf('RedriveQueue1E4A7C0D'));
    expect(ordered).toHaveLength(3);
  });
});
