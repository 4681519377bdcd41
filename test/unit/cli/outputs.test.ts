import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOutputs, parseOutputs, REQUIRED_OUTPUTS, Target } from '../../../tools/cli/outputs';

const complete = Object.fromEntries(REQUIRED_OUTPUTS.map((name) => [name, `value-of-${name}`]));

describe('parseOutputs', () => {
  it('takes the only stack of a cdk-outputs.json', () => {
    const outputs = parseOutputs({ 'EcommercePipeline-dev': complete }, 'cdk-outputs.json');
    expect(outputs.stackName).toBe('EcommercePipeline-dev');
    expect(outputs.values.IngestUrl).toBe('value-of-IngestUrl');
    expect(outputs.awsEndpoint).toBeUndefined();
  });

  it('names every missing contract output', () => {
    const { IngestUrl: _i, RedriveQueueUrl: _r, ...partial } = complete;
    expect(() => parseOutputs({ S: partial }, 'f.json')).toThrow(/lacks the outputs IngestUrl, RedriveQueueUrl$/);
  });

  it('needs --stack when several pipeline stacks are in the file, and checks the name', () => {
    const document = { 'EcommercePipeline-dev': complete, 'EcommercePipeline-prod': complete };
    expect(() => parseOutputs(document, 'f.json')).toThrow(/several stacks .*--stack/);
    expect(parseOutputs(document, 'f.json', 'EcommercePipeline-prod').stackName).toBe('EcommercePipeline-prod');
    expect(() => parseOutputs(document, 'f.json', 'Nope')).toThrow(/stack Nope is not in f.json; it holds: EcommercePipeline-dev, EcommercePipeline-prod/);
  });

  it('picks the one pipeline stack when others (without IngestUrl) share the file', () => {
    const outputs = parseOutputs({ CDKToolkit: { BucketName: 'b' }, 'EcommercePipeline-dev': complete }, 'f.json');
    expect(outputs.stackName).toBe('EcommercePipeline-dev');
  });

  it('refuses what is not an outputs document', () => {
    expect(() => parseOutputs([], 'f.json')).toThrow(/not an outputs file/);
    expect(() => parseOutputs({}, 'f.json')).toThrow(/no stack outputs/);
  });
});

describe('loadOutputs', () => {
  it('says how to get the file when it is missing', async () => {
    await expect(loadOutputs('/nonexistent/outputs.json')).rejects.toThrow(
      /outputs file not found: \/nonexistent\/outputs.json\. Start the local cloud \(npm start\)/,
    );
  });

  it('says when the file is not JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-outputs-'));
    const file = join(dir, 'outputs.json');
    await writeFile(file, '{"broken":');
    await expect(loadOutputs(file)).rejects.toThrow(/is not valid JSON/);
  });
});

describe('Target', () => {
  it('points every client at the local endpoint with test credentials', async () => {
    const outputs = parseOutputs({ L: { ...complete, AwsEndpoint: 'http://127.0.0.1:4599', ApiKeyValue: 'local-key' } }, 'f');
    const target = new Target(outputs);
    expect(target.isLocal).toBe(true);
    const sqsEndpoint = await target.sqs().config.endpoint?.();
    expect(`${sqsEndpoint?.hostname}:${sqsEndpoint?.port}`).toBe('127.0.0.1:4599');
    const kinesisEndpoint = await target.kinesis().config.endpoint?.();
    expect(kinesisEndpoint?.port).toBe(4599);
    expect(await target.sqs().config.region()).toBe('us-east-1');
    expect((await target.sqs().config.credentials()).accessKeyId).toBe('test');
    expect(await target.apiKey()).toBe('local-key');
  });

  it('prefers --api-key and PIPELINE_API_KEY over the file', async () => {
    const outputs = parseOutputs({ L: { ...complete, ApiKeyValue: 'from-file' } }, 'f');
    expect(await new Target(outputs, { apiKey: 'from-flag' }).apiKey()).toBe('from-flag');
    process.env.PIPELINE_API_KEY = 'from-env';
    try {
      expect(await new Target(outputs).apiKey()).toBe('from-env');
    } finally {
      delete process.env.PIPELINE_API_KEY;
    }
  });

  it('names an output a command needs but the file lacks', () => {
    const target = new Target(parseOutputs({ S: complete }, 'cdk-outputs.json'));
    expect(() => target.output('StreamFailureQueueUrl')).toThrow(/lacks the output StreamFailureQueueUrl/);
  });
});
