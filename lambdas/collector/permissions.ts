import type { FunctionPermissions } from '../shared/permissions';

/**
 * Every AWS call the Collector's code makes (lib/constructs grants exactly these; the tests hold
 * both sides to this list):
 * - PutRecordsCommand (shared/delivery.ts streamWriter) on the raw stream. The SDK sends it alone:
 *   no DescribeStream or ListShards first (those are the KPL's, not the SDK's).
 */
export const permissions = {
  kinesis: { RawStream: ['kinesis:PutRecords'] },
} as const satisfies FunctionPermissions;
