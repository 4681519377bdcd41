import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { buildApp } from 'fauxqs';
import { startDynaliteInProcess, type DynaliteInProcess } from './dynalite-in-process';
import { startKinesalite, type Kinesalite } from './kinesalite-in-process';

/**
 * The npm emulators behind the local endpoint, all in memory: kinesalite (Kinesis) and fauxqs
 * (SQS) each on its own loopback port, dynalite (DynamoDB) called in process
 * (dynalite-in-process.ts), and kinesalite's store called in process too for the JSON requests
 * the SDKs send (kinesalite-in-process.ts). Only the endpoint talks to them.
 */

export interface Emulators {
  kinesisPort: number;
  kinesis: Kinesalite;
  dynamodb: DynaliteInProcess;
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
  const kinesalite = startKinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 });
  const kinesis = kinesalite.server;
  const dynamodb = startDynaliteInProcess();
  const sqs = buildApp({ logger: false });
  try {
    const kinesisPort = await listen(kinesis);
    const sqsAddress = await sqs.listen({ port: 0, host: '127.0.0.1' });
    const sqsPort = Number(new URL(sqsAddress).port);
    return {
      kinesisPort,
      kinesis: kinesalite,
      dynamodb,
      sqsPort,
      async stop() {
        await Promise.all([close(kinesis), dynamodb.close(), sqs.close()]);
      },
    };
  } catch (error) {
    await Promise.allSettled([close(kinesis), dynamodb.close(), sqs.close()]);
    throw error;
  }
}
