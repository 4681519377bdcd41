import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { physicalName } from '../../../tools/local-cloud/intrinsics/identities';
import { TemplateResolutionError, type CfnTemplate } from '../../../tools/local-cloud/intrinsics/model';
import { resolveTemplate } from '../../../tools/local-cloud/intrinsics/resolver';

const ENDPOINT = 'http://127.0.0.1:4566';
const options = { stackName: 'EcommercePipeline-local', region: 'us-east-1', accountId: '000000000000', endpoint: ENDPOINT };
const fixture = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../fixtures/local-template.json'), 'utf8')) as CfnTemplate;

function resolveOne(properties: Record<string, unknown>, extra: CfnTemplate['Resources'] = {}, template: Partial<CfnTemplate> = {}) {
  const resolved = resolveTemplate(
    { ...template, Resources: { Subject: { Type: 'AWS::Lambda::Function', Properties: properties }, ...extra } },
    options,
  );
  return resolved.resources.find((r) => r.logicalId === 'Subject')!.properties;
}

describe('local physical names', () => {
  it('follow CloudFormation: <stack>-<logicalId>-<6 uppercase>', () => {
    const resolved = resolveTemplate(fixture, options);
    expect(resolved.outputs.RawStreamName).toMatch(/^EcommercePipeline-local-RawStreamB1F3D0A2-[A-Z0-9]{6}$/);
    expect(resolved.outputs.EventsTableName).toMatch(/^EcommercePipeline-local-EventsTable2D1F5A3B-[A-Z0-9]{6}$/);
  });

  it('are cut to the service limit, keeping the random suffix', () => {
    const name = physicalName('S'.repeat(60), 'VeryLongLogicalIdForAQueue1234ABCD', 80, 'ABCDEF');
    expect(name).toHaveLength(80);
    expect(name.endsWith('-ABCDEF')).toBe(true);
  });

  it('use the declared name when the template gives one, resolved', () => {
    const resolved = resolveTemplate(
      { Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::Sub': '${AWS::StackName}-orders' } } } } },
      options,
    );
    expect(resolved.resources[0]!.ref).toBe(`${ENDPOINT}/000000000000/EcommercePipeline-local-orders`);
  });

  it('end FIFO queue names with .fifo', () => {
    const resolved = resolveTemplate({ Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: true } } } }, options);
    expect(resolved.resources[0]!.attributes.QueueName).toMatch(/^EcommercePipeline-local-Q-[A-Z0-9]{6}\.fifo$/);
  });
});

describe('Ref and Fn::GetAtt', () => {
  const resolved = resolveTemplate(fixture, options);
  const byPrefix = (prefix: string) => resolved.resources.find((r) => r.logicalId.startsWith(prefix))!;

  it('give ARNs and queue URLs as AWS shapes them, on the local endpoint', () => {
    const raw = byPrefix('RawStream');
    expect(raw.attributes.Arn).toBe(`arn:aws:kinesis:us-east-1:000000000000:stream/${raw.ref}`);
    const dlq = byPrefix('DeadLetterQueue');
    expect(dlq.ref).toBe(`${ENDPOINT}/000000000000/${dlq.attributes.QueueName}`);
    expect(dlq.attributes.Arn).toBe(`arn:aws:sqs:us-east-1:000000000000:${dlq.attributes.QueueName}`);
    const table = byPrefix('EventsTable');
    expect(table.attributes.Arn).toBe(`arn:aws:dynamodb:us-east-1:000000000000:table/${table.ref}`);
    const fn = byPrefix('Validator5F6A7B8C');
    expect(fn.attributes.Arn).toBe(`arn:aws:lambda:us-east-1:000000000000:function:${fn.ref}`);
  });

  it('wire environment variables and RedrivePolicy to the same names and ARNs', () => {
    const variables = (byPrefix('Validator5F6A7B8C').properties.Environment as { Variables: Record<string, string> }).Variables;
    expect(variables.PROCESSED_STREAM_NAME).toBe(resolved.outputs.ProcessedStreamName);
    expect(variables.DEAD_LETTER_QUEUE_URL).toBe(resolved.outputs.DeadLetterQueueUrl);
    expect(byPrefix('RedriveQueue').properties.RedrivePolicy).toEqual({ deadLetterTargetArn: byPrefix('DeadLetterQueue').attributes.Arn, maxReceiveCount: 3 });
    const mapping = byPrefix('ValidatorRawStreamSource').properties;
    expect(mapping.FunctionName).toBe(byPrefix('Validator5F6A7B8C').ref);
    expect(mapping.DestinationConfig).toEqual({ OnFailure: { Destination: byPrefix('StreamFailureQueue').attributes.Arn } });
  });

  it('resolve pseudo parameters', () => {
    const props = resolveOne({
      Region: { Ref: 'AWS::Region' },
      Account: { Ref: 'AWS::AccountId' },
      Partition: { Ref: 'AWS::Partition' },
      Suffix: { Ref: 'AWS::URLSuffix' },
      Stack: { Ref: 'AWS::StackName' },
    });
    expect(props).toEqual({ Region: 'us-east-1', Account: '000000000000', Partition: 'aws', Suffix: 'amazonaws.com', Stack: 'EcommercePipeline-local' });
  });

  it('take a parameter from its Default', () => {
    const props = resolveOne({ Version: { Ref: 'Version' } }, {}, { Parameters: { Version: { Type: 'String', Default: '7' } } });
    expect(props.Version).toBe('7');
  });
});

describe('intrinsic functions', () => {
  it('Fn::Join, Fn::Select and Fn::Split', () => {
    const props = resolveOne({
      Joined: { 'Fn::Join': ['-', ['a', { Ref: 'AWS::Region' }, 'b']] },
      Selected: { 'Fn::Select': [1, { 'Fn::Split': [',', 'x,y,z'] }] },
    });
    expect(props).toEqual({ Joined: 'a-us-east-1-b', Selected: 'y' });
  });

  it('Fn::Sub in both forms, with attributes and escaped literals', () => {
    const props = resolveOne(
      {
        Short: { 'Fn::Sub': 'arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${Q.QueueName} ${!Literal}' },
        Long: { 'Fn::Sub': ['${Name}/${AWS::Region}', { Name: { 'Fn::GetAtt': ['Q', 'QueueName'] } }] },
      },
      { Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'orders' } } },
    );
    expect(props.Short).toBe('arn:aws:sqs:us-east-1:000000000000:orders ${Literal}');
    expect(props.Long).toBe('orders/us-east-1');
  });

  it('Fn::If with AWS::NoValue drops the property; conditions evaluate Fn::Or / Fn::Equals / Fn::Not', () => {
    const resolved = resolveTemplate(fixture, options);
    const raw = resolved.resources.find((r) => r.logicalId.startsWith('RawStream'))!;
    expect(raw.properties.StreamEncryption).toEqual({ EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' });
    const inChina = resolveTemplate(fixture, { ...options, region: 'cn-north-1' });
    expect(inChina.resources.find((r) => r.logicalId.startsWith('RawStream'))!.properties).not.toHaveProperty('StreamEncryption');

    const props = resolveOne(
      { Value: { 'Fn::If': ['NotLocal', 'remote', 'local'] }, List: ['a', { 'Fn::If': ['NotLocal', 'b', { Ref: 'AWS::NoValue' }] }] },
      {},
      { Conditions: { NotLocal: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AWS::StackName' }, 'EcommercePipeline-local'] }] } } },
    );
    expect(props).toEqual({ Value: 'local', List: ['a'] });
  });

  it('leaves out resources and outputs whose Condition is false', () => {
    const resolved = resolveTemplate(fixture, options);
    expect(resolved.skipped).toEqual(['CDKMetadata']);
    expect(resolved.resources.map((r) => r.logicalId)).not.toContain('CDKMetadata');
    expect(resolved.outputs).not.toHaveProperty('ChinaOnly');
  });
});

describe('dynamic references and API URLs', () => {
  const resolved = resolveTemplate(fixture, options);
  const byPrefix = (prefix: string) => resolved.resources.find((r) => r.logicalId.startsWith(prefix))!;

  it('resolve {{resolve:secretsmanager:<arn>:SecretString:<key>::}} to the local secret value', () => {
    const secret = JSON.parse(byPrefix('ApiKeySecret').properties.SecretString as string) as { apiKey: string };
    expect(secret.apiKey).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(byPrefix('IngestApiKey').properties.Value).toBe(secret.apiKey);
  });

  it('point execute-api URLs at the local endpoint, keeping stage and path', () => {
    expect(resolved.outputs.IngestUrl).toBe(`${ENDPOINT}/v1/`);
    const variables = (byPrefix('Generator').properties.Environment as { Variables: Record<string, string> }).Variables;
    expect(variables.INGEST_URL).toBe(`${ENDPOINT}/v1/events`);
    expect(variables.API_KEY_SECRET_ARN).toBe(resolved.outputs.ApiKeySecretArn);
    expect(resolved.outputs.ApiKeySecretArn).toMatch(/^arn:aws:secretsmanager:us-east-1:000000000000:secret:.+-[A-Za-z0-9]{6}$/);
  });

  it('leave execute-api URLs of APIs outside the template alone', () => {
    const props = resolveOne({ Url: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod/' });
    expect(props.Url).toBe('https://abc123.execute-api.us-east-1.amazonaws.com/prod/');
  });
});

describe('errors name the resource and property', () => {
  const resolveError = (properties: Record<string, unknown>, extra: CfnTemplate['Resources'] = {}): TemplateResolutionError => {
    try {
      resolveOne(properties, extra);
    } catch (error) {
      if (error instanceof TemplateResolutionError) return error;
      throw error;
    }
    throw new Error('expected a TemplateResolutionError');
  };

  it('for an unknown intrinsic function', () => {
    const error = resolveError({ Environment: { Variables: { SHARED: { 'Fn::ImportValue': 'other-stack-output' } } } });
    expect(error.message).toContain('Subject.Environment.Variables.SHARED');
    expect(error.message).toContain('Fn::ImportValue');
  });

  it('for a Ref to nothing', () => {
    expect(resolveError({ Name: { Ref: 'Missing' } }).message).toMatch(/Subject\.Name: refers to Missing/);
  });

  it('for an attribute the resource type does not have', () => {
    const error = resolveError({ Arn: { 'Fn::GetAtt': ['Q', 'Nope'] } }, { Q: { Type: 'AWS::SQS::Queue' } });
    expect(error.message).toContain('Q.Nope');
    expect(error.message).toContain('Subject.Arn');
  });

  it('for a dynamic reference to a secret the template does not declare', () => {
    expect(resolveError({ Key: '{{resolve:secretsmanager:elsewhere:SecretString:apiKey::}}' }).message).toContain('elsewhere');
  });

  it('for SSM dynamic references, which are not supported locally', () => {
    expect(resolveError({ Key: '{{resolve:ssm:/my/param}}' }).message).toContain('{{resolve:ssm');
  });
});
