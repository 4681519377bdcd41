import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { permissions as collector } from '../../../lambdas/collector/permissions';
import { permissions as generator } from '../../../lambdas/generator/permissions';
import { permissions as loader } from '../../../lambdas/loader/permissions';
import { actionsOf, type FunctionPermissions } from '../../../lambdas/shared/permissions';
import { permissions as validator } from '../../../lambdas/validator/permissions';
import { permissions as sqlMigrations } from '../../../lambdas/sql-migrations/permissions';
import { permissions as sqlSink } from '../../../lambdas/sql-sink/permissions';

const DATA_API_COMMANDS = ['BatchExecuteStatementCommand', 'BeginTransactionCommand', 'CommitTransactionCommand', 'ExecuteStatementCommand', 'RollbackTransactionCommand'];

// Holds each function's permissions.ts to the AWS SDK commands its code can send: the handler is
// bundled as CDK bundles it (esbuild, tree-shaken) but with packages left external, so the output
// is this project's code only, and every `new XCommand(` in it is a call the function can make.
// Each command maps to the IAM actions that authorize it; the union must equal the list's actions.
// So a new SDK call without its permission, or a permission no call needs, fails here (and
// test/infra/iam.test.ts holds the deployed role to the same list).

const LAMBDAS = fileURLToPath(new URL('../../../lambdas/', import.meta.url));

/**
 * IAM actions per SDK command (Service Authorization Reference). A TransactWrite is authorized
 * per item, by the item kinds the code writes: see transactItemActions.
 */
const COMMAND_ACTIONS: Record<string, readonly string[]> = {
  PutRecordsCommand: ['kinesis:PutRecords'],
  PutRecordCommand: ['kinesis:PutRecord'],
  SendMessageCommand: ['sqs:SendMessage'],
  // SendMessageBatch has no IAM action of its own.
  SendMessageBatchCommand: ['sqs:SendMessage'],
  GetSecretValueCommand: ['secretsmanager:GetSecretValue'],
  GetCommand: ['dynamodb:GetItem'],
  GetItemCommand: ['dynamodb:GetItem'],
  PutCommand: ['dynamodb:PutItem'],
  PutItemCommand: ['dynamodb:PutItem'],
  UpdateCommand: ['dynamodb:UpdateItem'],
  UpdateItemCommand: ['dynamodb:UpdateItem'],
  DeleteCommand: ['dynamodb:DeleteItem'],
  DeleteItemCommand: ['dynamodb:DeleteItem'],
  QueryCommand: ['dynamodb:Query'],
  BatchGetCommand: ['dynamodb:BatchGetItem'],
  BatchWriteCommand: ['dynamodb:BatchWriteItem'],
  TransactWriteCommand: [],
  TransactWriteItemsCommand: [],
  // The RDS Data API reads the database secret with the caller's own GetSecretValue.
  ExecuteStatementCommand: ['rds-data:ExecuteStatement', 'secretsmanager:GetSecretValue'],
  BatchExecuteStatementCommand: ['rds-data:BatchExecuteStatement', 'secretsmanager:GetSecretValue'],
  BeginTransactionCommand: ['rds-data:BeginTransaction', 'secretsmanager:GetSecretValue'],
  CommitTransactionCommand: ['rds-data:CommitTransaction', 'secretsmanager:GetSecretValue'],
  RollbackTransactionCommand: ['rds-data:RollbackTransaction', 'secretsmanager:GetSecretValue'],
};
const TRANSACT_ITEM_ACTIONS: Record<string, string> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

async function bundledCode(source: string): Promise<string> {
  const result = await build({
    entryPoints: [join(LAMBDAS, source, 'handler.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    treeShaking: true,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** The commands the code constructs, and the IAM actions they need. */
function calledActions(code: string): { commands: string[]; actions: string[]; unknown: string[] } {
  const commands = [...new Set([...code.matchAll(/new\s+(\w+Command)\s*\(/g)].map((match) => match[1]!))].sort();
  const unknown = commands.filter((command) => COMMAND_ACTIONS[command] === undefined);
  const actions = new Set(commands.flatMap((command) => COMMAND_ACTIONS[command] ?? []));
  if (commands.some((command) => command.startsWith('Transact'))) {
    for (const match of code.matchAll(/\b(Put|Update|Delete|ConditionCheck)\s*:/g)) actions.add(TRANSACT_ITEM_ACTIONS[match[1]!]!);
  }
  return { commands, actions: [...actions].sort(), unknown };
}

const FUNCTIONS: Array<[string, FunctionPermissions, string[]]> = [
  ['collector', collector, ['PutRecordsCommand']],
  ['validator', validator, ['PutRecordsCommand', 'SendMessageBatchCommand']],
  ['loader', loader, ['GetItemCommand', 'SendMessageBatchCommand', 'TransactWriteItemsCommand']],
  ['generator', generator, ['GetSecretValueCommand']],
  ['sql-sink', sqlSink, [...DATA_API_COMMANDS, 'SendMessageBatchCommand'].sort()],
  ['sql-migrations', sqlMigrations, DATA_API_COMMANDS],
];

describe("each function's permissions.ts matches the SDK calls in its code", () => {
  it.each(FUNCTIONS)('%s', async (source, permissions, expectedCommands) => {
    const called = calledActions(await bundledCode(source));
    expect(called.unknown, 'commands without a known IAM action: add them to COMMAND_ACTIONS').toEqual([]);
    // The commands themselves, so a change in what the code calls is seen here first.
    expect(called.commands).toEqual(expectedCommands);
    expect(actionsOf(permissions)).toEqual(called.actions);
  }, 60_000);

  it('maps the loader transaction to its item actions: Put on events, Update on aggregates, no ConditionCheck', async () => {
    const called = calledActions(await bundledCode('loader'));
    expect(called.actions).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'sqs:SendMessage']);
    expect(loader.dynamodb.EventsTable).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:GetItem']));
    expect(loader.dynamodb.AggregatesTable).toEqual(['dynamodb:UpdateItem']);
  }, 60_000);

  it('knows every SDK command any function source imports', () => {
    const files = readdirSync(LAMBDAS, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
    const imported = new Set<string>();
    for (const file of files) {
      const text = readFileSync(join(LAMBDAS, file), 'utf8');
      for (const statement of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'@aws-sdk\/[^']+'/g)) {
        for (const name of statement[1]!.split(',').map((part) => part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!)) {
          if (name.endsWith('Command')) imported.add(name);
        }
      }
    }
    expect([...imported].filter((name) => COMMAND_ACTIONS[name] === undefined)).toEqual([]);
    expect(imported.size).toBeGreaterThan(0);
  });

  it('catches drift both ways: a call the list lacks, and a listed action no call needs', () => {
    const code = 'await client.send(new PutRecordsCommand({})); await sqs.send(new SendMessageBatchCommand({}));';
    expect(calledActions(code).actions).not.toEqual(actionsOf(collector));
    const extra: FunctionPermissions = { kinesis: { RawStream: ['kinesis:PutRecords', 'kinesis:PutRecord'] } };
    expect(actionsOf(extra)).not.toEqual(calledActions('new PutRecordsCommand({})').actions);
  });
});
