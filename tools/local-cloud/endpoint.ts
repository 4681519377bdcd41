import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultController, parseFaultSet } from './fault-set';
import { readBody } from './read-body';
import { parseJson, readJsonBody, sendJson } from './endpoint-io';
import { createSqsEndpoint, QUEUE_PATH } from './sqs-endpoint';
import { DynamoDbTransactions, type DynamoDbAnswer } from './services/dynamodb-transactions';
import { createDynamoDbFaults, mergeUnprocessed } from './services/dynamodb-faults';
import { startEmulators, type Emulators } from './services/emulators';
import { createKinesisFaults } from './services/kinesis-faults';
import { requestUpstream, type UpstreamAnswer } from './services/upstream';
import { sendKinesis } from './services/kinesalite-in-process';
import { SecretsManagerService } from './services/secrets-manager';
import { isS3Request, s3Fault } from './services/s3';
import { RDS_DATA_PATHS, REQUEST_LIMIT_BYTES, RdsDataService } from './services/rds-data';

/**
 * One endpoint for every local service, LocalStack-style (AWS_ENDPOINT_URL / --endpoint-url):
 * requests are routed by protocol and X-Amz-Target to kinesalite, dynalite, fauxqs (SQS, and S3
 * by the `s3` service of the SigV4 scope), the in-process Secrets Manager or the RDS Data API on
 * PGlite (services/rds-data.ts); `/_local/*` serves the CLI; everything else goes to the API.
 * SQS's two protocols, its queue URLs and its move tasks are in sqs-endpoint.ts.
 *
 * The fault set (`/_local/faults`, fault-set.ts) is applied here, on the real request paths, and
 * answered as AWS answers, so the SDKs' retries and the functions' own retries both run. Requests
 * are streamed through untouched unless a fault that concerns them is set. TransactWriteItems,
 * which dynalite lacks, is emulated here (services/dynamodb-transactions.ts).
 */

export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>;
export type MetricsProvider = () => Promise<object> | object;

export interface AwsEndpointOptions {
  /** 0 picks a free port (tests). */
  port: number;
  region: string;
  accountId: string;
  host?: string;
  /** The local cloud's fault set; one is created (empty) when absent. */
  faults?: FaultController;
  /**
   * Longest time to receive a whole request (headers and body) before it is answered 408 and the
   * connection closed; default 300 s (Node's). The API stage answers a stalled body sooner
   * (api-gateway.ts, 30 s without a byte). Answers being waited for (long polls) do not count.
   */
  requestTimeoutMs?: number;
}

export interface AwsEndpoint {
  /** Base URL, no trailing slash: what AWS_ENDPOINT_URL and --endpoint-url take. */
  url: string;
  port: number;
  secrets: SecretsManagerService;
  /** The RDS Data API on PGlite: the template's Aurora clusters are added to it. */
  rdsData: RdsDataService;
  /** The active faults, also served at `/_local/faults`. */
  faults: FaultController;
  /** Serves the API stages (`/<stage>/...`); returns false when a request is not for an API. */
  setApiHandler(handler: RequestHandler | undefined): void;
  setMetricsProvider(provider: MetricsProvider | undefined): void;
  /** Serves `/_local/dashboard/...` (dashboard/server.ts); returns false when a request is not for it. */
  setDashboardHandler(handler: RequestHandler | undefined): void;
  /** `/_local/health` reports ready only once everything is up. */
  setReady(ready: boolean): void;
  close(): Promise<void>;
}

const DYNAMODB_CONTENT_TYPE = 'application/x-amz-json-1.0';


export async function startAwsEndpoint(options: AwsEndpointOptions): Promise<AwsEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const faults = options.faults ?? new FaultController();
  const emulators: Emulators = await startEmulators();
  const secrets = new SecretsManagerService(options.region, options.accountId);
  const rdsData = new RdsDataService({ faults, secretExists: (arn) => secrets.find(arn) !== undefined });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let apiHandler: RequestHandler | undefined;
  let metricsProvider: MetricsProvider | undefined;
  let dashboardHandler: RequestHandler | undefined;
  let ready = false;
  let url = '';


  /** Streams the request to an emulator unchanged and streams its answer back; settles once the answer is sent. */
  const pipeTo = (req: http.IncomingMessage, res: http.ServerResponse, port: number): Promise<void> =>
    new Promise((resolve) => {
      res.once('close', () => resolve());
      const upstream = http.request(
        { host: '127.0.0.1', port, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${port}` }, agent },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', (error) => {
        if (!res.headersSent) sendJson(res, 502, { __type: 'ServiceUnavailable', message: `local emulator failed: ${error.message}` });
        else res.destroy(error);
      });
      req.pipe(upstream);
    });

  /** The client's request with another body, to an emulator, answered whole. */
  const forwardTo = (req: http.IncomingMessage, port: number) => (payload: Buffer) =>
    requestUpstream(agent, port, { method: req.method ?? 'POST', path: req.url ?? '/', headers: req.headers }, payload);

  const sendUpstream = (res: http.ServerResponse, answer: UpstreamAnswer): void => {
    const headers: http.OutgoingHttpHeaders = { ...answer.headers, 'content-length': answer.body.length };
    delete headers['transfer-encoding'];
    res.writeHead(answer.status, headers);
    res.end(answer.body);
  };

  const sendDynamoDb = (res: http.ServerResponse, answer: DynamoDbAnswer): void => sendJson(res, answer.status, answer.body, DYNAMODB_CONTENT_TYPE);

  const sqs = createSqsEndpoint({ region: options.region, sqsPort: emulators.sqsPort, agent, faults, endpointUrl: () => url });

  const dynamodbCall = emulators.dynamodb.call;
  const transactions = new DynamoDbTransactions(dynamodbCall);
  const dynamodbFaults = createDynamoDbFaults({ faults, region: options.region, accountId: options.accountId });
  const kinesisFaults = createKinesisFaults({
    faults,
    accountId: options.accountId,
    call: emulators.kinesis.call,
  });

  /**
   * Kinesis: the SDKs' JSON requests are called on kinesalite in process, anything else is
   * streamed through to its server, unless a set fault concerns this operation.
   */
  const handleKinesis = async (req: http.IncomingMessage, res: http.ServerResponse, operation: string): Promise<void> => {
    if (!kinesisFaults.concerns(operation, String(req.headers['content-type'] ?? ''))) {
      if (!emulators.kinesis.takes(req, operation)) return pipeTo(req, res, emulators.kinesisPort);
      const raw = await readBody(req);
      const body = parseJson(raw);
      if (!body) return sendUpstream(res, await forwardTo(req, emulators.kinesisPort)(raw));
      return sendKinesis(res, await emulators.kinesis.call(operation, body));
    }
    const raw = await readBody(req);
    sendUpstream(res, await kinesisFaults.handle(operation, raw, forwardTo(req, emulators.kinesisPort)));
  };

  /**
   * DynamoDB: TransactWriteItems is emulated here; every other request waits while a transaction
   * runs (so none interleaves with one) and is streamed through unless a set fault concerns it.
   */
  const handleDynamoDb = async (req: http.IncomingMessage, res: http.ServerResponse, operation: string): Promise<void> => {
    const faulted = dynamodbFaults.concerns(operation);
    const raw = await readBody(req);
    const body = parseJson(raw);
    if (!body) return sendDynamoDb(res, { status: 400, body: { __type: 'com.amazon.coral.service#SerializationException', message: 'body is not JSON' } });
    const outage = faulted ? dynamodbFaults.outage() : undefined;
    if (outage) return sendDynamoDb(res, outage);

    if (operation === 'TransactWriteItems') {
      const throttled = faulted && dynamodbFaults.throttleRequest(operation, body) !== undefined;
      return sendDynamoDb(res, await transactions.transactWriteItems(body, { throttled }));
    }
    if (!faulted) return sendDynamoDb(res, await transactions.shared(() => dynamodbCall(operation, body)));
    if (operation === 'BatchWriteItem') {
      const split = dynamodbFaults.splitBatchWrite(body);
      if (split.refused) return sendDynamoDb(res, split.refused);
      if (!split.forward) return sendDynamoDb(res, await transactions.shared(() => dynamodbCall(operation, body)));
      const partial = split.forward;
      const answer = await transactions.shared(() => dynamodbCall(operation, partial));
      if (answer.status !== 200) return sendDynamoDb(res, answer);
      return sendDynamoDb(res, { status: 200, body: mergeUnprocessed(answer.body, split.unprocessed) });
    }
    const throttled = dynamodbFaults.throttleRequest(operation, body);
    if (throttled) return sendDynamoDb(res, throttled);
    sendDynamoDb(res, await transactions.shared(() => dynamodbCall(operation, body)));
  };

  /** `/_local/faults`: read, replace or clear the fault set. */
  const handleFaults = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (req.method === 'GET') return sendJson(res, 200, faults.state());
    if (req.method === 'DELETE') {
      req.resume();
      faults.clear();
      return sendJson(res, 200, faults.state());
    }
    if (req.method === 'POST' || req.method === 'PUT') {
      const raw = (await readBody(req)).toString('utf8');
      try {
        faults.apply(parseFaultSet(raw.trim() === '' ? {} : raw));
      } catch (error) {
        return sendJson(res, 400, { error: { code: 'invalid_faults', message: error instanceof Error ? error.message : String(error) } });
      }
      return sendJson(res, 200, faults.state());
    }
    req.resume();
    res.setHeader('allow', 'GET, POST, PUT, DELETE');
    sendJson(res, 405, { error: { code: 'method_not_allowed', message: `${req.method} is not supported on /_local/faults: GET, POST or DELETE` } });
  };


  const handleSecrets = async (req: http.IncomingMessage, res: http.ServerResponse, operation: string): Promise<void> => {
    const body = await readJsonBody(req, res, 'SerializationException', 'application/x-amz-json-1.1');
    if (body === undefined) return;
    const answer = secrets.handle(operation, body);
    sendJson(res, answer.status, answer.body, 'application/x-amz-json-1.1');
  };

  const handleRdsData = async (req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<void> => {
    const raw = await readBody(req);
    const body = raw.length > REQUEST_LIMIT_BYTES ? undefined : parseJson(raw);
    const answer = body
      ? await rdsData.handle(path, body)
      : { status: 400, errorType: 'BadRequestException', body: { message: raw.length > REQUEST_LIMIT_BYTES ? 'Request exceeds the 4 MiB limit' : 'body is not JSON' } };
    const text = JSON.stringify(answer.body);
    res.writeHead(answer.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...(answer.errorType ? { 'x-amzn-errortype': answer.errorType } : {}),
    });
    res.end(text);
  };

  const route = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const requestUrl = new URL(req.url ?? '/', 'http://local');
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      const dot = target.indexOf('.');
      const service = target.slice(0, dot);
      const operation = target.slice(dot + 1);
      if (service === 'Kinesis_20131202') return handleKinesis(req, res, operation);
      if (service === 'DynamoDB_20120810') return handleDynamoDb(req, res, operation);
      if (service === 'DynamoDBStreams_20120810') {
        req.resume();
        return sendJson(res, 400, { __type: 'UnknownOperationException', message: `${target} is not emulated by the local cloud` }, DYNAMODB_CONTENT_TYPE);
      }
      if (service === 'AmazonSQS') return sqs.handleSqsJson(req, res, operation);
      if (service === 'secretsmanager') return handleSecrets(req, res, operation);
      req.resume();
      return sendJson(res, 400, { __type: 'UnknownOperationException', message: `${target} is not emulated by the local cloud` });
    }
    if (requestUrl.pathname === '/_local/health') {
      return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'starting', endpoint: url });
    }
    if (requestUrl.pathname === '/_local/faults') return handleFaults(req, res);
    // The RDS Data API (REST-JSON): POST /Execute, /BatchExecute, /BeginTransaction, ...
    if (req.method === 'POST' && RDS_DATA_PATHS.has(requestUrl.pathname)) return handleRdsData(req, res, requestUrl.pathname);
    if (requestUrl.pathname === '/_local/metrics') {
      if (!metricsProvider) return sendJson(res, 503, { error: { code: 'not_ready', message: 'the local cloud is still starting' } });
      return sendJson(res, 200, await metricsProvider());
    }
    if (dashboardHandler && requestUrl.pathname.startsWith('/_local/dashboard') && (await dashboardHandler(req, res))) return;
    // S3, path-style (`/bucket/key`), told apart by the `s3` service of its SigV4 scope: fauxqs's S3.
    if (isS3Request(req, requestUrl)) {
      const fault = s3Fault(faults, req, requestUrl);
      if (!fault) return pipeTo(req, res, emulators.sqsPort);
      req.resume();
      res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(fault.body) });
      return void res.end(fault.body);
    }
    const isSqsPath = requestUrl.pathname === '/' || QUEUE_PATH.test(requestUrl.pathname);
    const contentType = String(req.headers['content-type'] ?? '');
    const isQuery =
      (req.method === 'POST' && contentType.startsWith('application/x-www-form-urlencoded')) ||
      (req.method === 'GET' && requestUrl.searchParams.has('Action'));
    if (isSqsPath && isQuery) return sqs.handleSqsQuery(req, res);
    if (apiHandler && (await apiHandler(req, res))) return;
    req.resume();
    sendJson(res, 404, { message: `No local service or API serves ${req.method} ${requestUrl.pathname}` });
  };

  // Node refuses headers over 16 KB by default; the API stage's own limit is 10 KB (request line
  // and header values, answered as API Gateway does in api-gateway.ts), so the endpoint reads up to
  // 64 KB of headers and only beyond that answers 431 itself (clientError below).
  const requestTimeout = options.requestTimeoutMs ?? 300_000;
  // How often Node looks for requests past their timeout (30 s by default, longer than a short one).
  const connectionsCheckingInterval = Math.min(30_000, Math.max(50, Math.floor(requestTimeout / 4)));
  const server = http.createServer({ maxHeaderSize: 64 * 1024, connectionsCheckingInterval }, (req, res) => {
    route(req, res).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) sendJson(res, 500, { __type: 'InternalFailure', message });
      else res.destroy();
    });
  });
  // Receiving a request is bounded (a client that stalls mid-request is answered 408 and cut off);
  // waiting for an answer is not (SQS long polls, Lambda-style waits), nor is an idle keep-alive
  // connection beyond keepAliveTimeout. headersTimeout (60 s) must not exceed requestTimeout.
  server.requestTimeout = requestTimeout;
  server.headersTimeout = Math.min(60_000, server.requestTimeout);
  server.keepAliveTimeout = 5_000;
  // What Node refuses before a request reaches the router (headers over its 16 KB, a request that
  // took too long, a malformed one): a JSON body, as every answer of the endpoint, not an empty one.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, reason, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'Request Header Fields Too Large']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'Request Timeout']
          : [400, 'Bad Request', 'Bad Request'];
    const body = JSON.stringify({ message });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, host, () => resolve());
    });
  } catch (error) {
    await emulators.stop();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`Port ${options.port} is in use: stop what runs there or pick another with --port`);
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  url = `http://${host}:${port}`;

  return {
    url,
    port,
    secrets,
    rdsData,
    faults,
    setApiHandler: (handler) => (apiHandler = handler),
    setMetricsProvider: (provider) => (metricsProvider = provider),
    setDashboardHandler: (handler) => (dashboardHandler = handler),
    setReady: (value) => (ready = value),
    async close() {
      ready = false;
      await sqs.closeMoveTasks();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
      await rdsData.close();
      await emulators.stop();
    },
  };
}
