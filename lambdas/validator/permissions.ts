import type { FunctionPermissions } from '../shared/permissions';

/**
 * Every AWS call the Validator's code makes (lib/constructs grants exactly these; the tests hold
 * both sides to this list):
 * - PutRecordsCommand (shared/delivery.ts streamWriter) on the processed stream; the SDK needs
 *   no DescribeStream or ListShards for it.
 * - SendMessageBatchCommand (shared/delivery.ts messageBatchSender) on the DeadLetterQueue: IAM
 *   authorizes SendMessageBatch as `sqs:SendMessage`.
 * Reading the raw stream and the RedriveQueue is Lambda's event source mapping, granted by the
 * construct (lib/constructs/pipeline-function.ts), as is the StreamFailureQueue destination.
 */
export const permissions = {
  kinesis: { ProcessedStream: ['kinesis:PutRecords'] },
  sqs: { DeadLetterQueue: ['sqs:SendMessage'] },
} as const satisfies FunctionPermissions;
