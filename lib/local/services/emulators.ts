import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { buildApp } from 'fauxqs';

/**
 * The npm emulators behind the local endpoint, all in memory, each on its own loopback port:
 * kinesalite (Kinesis), dynalite (DynamoDB) and fauxqs (SQS). Only the endpoint talks to them.
 */

const require = createRequire(import.meta.url);

type HttpServerFactory = (options: Record<string, unknown>) => http.Server;
const kinesalite = require('kinesalite') as HttpServerFactory;
const dynalite = require('dynalite') as HttpServerFactory;

export interface Emulators {
  kinesisPort: number;
  dynamodbPort: number;
  sqsPort: number;
  stop(): Promise<void>;
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive sockets from SDK clients would otherwise hold close() open.
    server.closeAllConnections?.();
  });
}

export async function startEmulators(): Promise<Emulators> {
  // Zero delays: streams and tables are ACTIVE as soon as they are created.
  const kinesis = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 });
  const dynamodb = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const sqs = buildApp({ logger: false });
  try {
    const [kinesisPort, dynamodbPort] = await Promise.all([listen(kinesis), listen(dynamodb)]);
    const sqsAddress = await sqs.listen({ port: 0, host: '127.0.0.1' });
    const sqsPort = Number(new URL(sqsAddress).port);
    return {
      kinesisPort,
      dynamodbPort,
      sqsPort,
      async stop() {
        await Promise.all([close(kinesis), close(dynamodb), sqs.close()]);
      },
    };
  } catch (error) {
    await Promise.allSettled([close(kinesis), close(dynamodb), sqs.close()]);
    throw error;
  }
}
