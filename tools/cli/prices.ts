/**
 * The one price table `pipeline cost` uses. us-east-1, on-demand list prices, no free tier,
 * no volume tiers beyond the first. Each section names the AWS page its prices come from;
 * re-check those pages before budgeting with it.
 */
export const PRICES = {
  asOf: '2025-06-01',
  region: 'us-east-1',
  hoursPerMonth: 730,
  apiGatewayRest: {
    page: 'https://aws.amazon.com/api-gateway/pricing/',
    /** First 333 million requests per month. */
    perMillionRequests: 3.5,
  },
  lambdaArm64: {
    page: 'https://aws.amazon.com/lambda/pricing/',
    perGbSecond: 0.0000133334,
    perMillionRequests: 0.2,
  },
  kinesisProvisioned: {
    page: 'https://aws.amazon.com/kinesis/data-streams/pricing/',
    perShardHour: 0.015,
    /** A PUT payload unit is each 25 KB chunk of a record. */
    perMillionPutPayloadUnits: 0.014,
    putPayloadUnitBytes: 25 * 1024,
  },
  kinesisOnDemand: {
    page: 'https://aws.amazon.com/kinesis/data-streams/pricing/',
    perStreamHour: 0.04,
    /** Each record rounded up to the next 1 KB. */
    perGbIngested: 0.08,
    perGbRetrieved: 0.04,
  },
  sqsStandard: {
    page: 'https://aws.amazon.com/sqs/pricing/',
    /** Each 64 KB chunk of a request is billed as one request. */
    perMillionRequests: 0.4,
    requestChunkBytes: 64 * 1024,
  },
  dynamoDbOnDemand: {
    page: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    /** After the 1 November 2024 price reduction. */
    perMillionWriteRequestUnits: 0.625,
    perMillionReadRequestUnits: 0.125,
    perGbMonth: 0.25,
  },
  dynamoDbProvisioned: {
    page: 'https://aws.amazon.com/dynamodb/pricing/provisioned/',
    perWcuHour: 0.00065,
    perRcuHour: 0.00013,
    perGbMonth: 0.25,
  },
  firehose: {
    page: 'https://aws.amazon.com/firehose/pricing/',
    /** Ingestion (Direct PUT or a Kinesis Data Streams source), first 500 TB per month. */
    perGbIngested: 0.029,
    /** Each record is billed rounded up to the next 5 KB. */
    recordIncrementBytes: 5 * 1024,
  },
  s3: {
    page: 'https://aws.amazon.com/s3/pricing/',
    /** S3 Standard, first 50 TB per month. */
    standardPerGbMonth: 0.023,
    standardIaPerGbMonth: 0.0125,
    /** PUT, COPY, POST, LIST requests to S3 Standard. */
    perThousandPuts: 0.005,
    /** Lifecycle transitions into Standard-IA, per object. */
    perThousandIaTransitions: 0.01,
  },
  auroraServerlessV2: {
    page: 'https://aws.amazon.com/rds/aurora/pricing/',
    perAcuHour: 0.12,
    perGbMonth: 0.1,
    /** Aurora Standard (not I/O-Optimized). */
    perMillionIoRequests: 0.2,
  },
  rdsDataApi: {
    page: 'https://aws.amazon.com/rds/aurora/pricing/',
    /** Data API requests (Aurora Serverless v2 and provisioned), first billion a month. */
    perMillionRequests: 0.35,
    /** A request's payload is billed in 32 KB units. */
    requestChunkBytes: 32 * 1024,
  },
} as const;
