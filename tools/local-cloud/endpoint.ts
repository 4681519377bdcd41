import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { FaultController, parseFaultSet } from './fault-set';
import { readBody } from './read-body';
import { DynamoDbTransactions, type DynamoDbAnswer } from './services/dynamodb-transactions';
import { createDynamoDbFaults, mergeUnprocessed } from './services/dynamodb-faults';
import { startEmulators, type Emulators } from './services/emulators';
import { createKinesisFaults } from './services/kinesis-faults';
import { withSqsSendFaults } from './services/sqs-faults';
import { callJsonTarget, requestUpstream, type UpstreamAnswer } from './services/upstream';
import { SecretsManagerService } from './services/secrets-manager';
import { SQS_ACTIONS, errorToQueryXml, jsonToQueryXml, queryToJson } from './services/sqs-query';
import { isS3Request, s3Fault } from './services/s3';
import { MOVE_TASK_ACTIONS, SqsMoveTasks } from './services/sqs-move-tasks';
import { RDS_DATA_PATHS, REQUEST_LIMIT_BYTES, RdsDataService } from './services/rds-data';

/**
 * One endpoint for every local service, LocalStack-style (AWS_ENDPOINT_URL / --endpoint-url):
 * requests are routed by protocol and X-Amz-Target to kinesalite, dynalite, fauxqs (SQS, and S3
 * by the `s3` service of the SigV4 scope) or the in-process Secrets Manager; `/_local/*` serves the CLI; everything else goes to the API.
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
const QUEUE_PATH = /^\/(\d{12})\/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)\/?$/;

function sendJson(res: http.ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a JSON request body; undefined when it is not JSON (the caller answers as the service would). */
function parseJson(raw: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = raw.length ? JSON.parse(raw.toString('utf8')) : {};
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A JSON-protocol request's body (empty: `{}`), or undefined after answering 400 with the
 * service's SerializationException type when it is not JSON.
 */
async function readJsonBody(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  errorType: string,
  contentType: string,
): Promise<Record<string, unknown> | undefined> {
  const raw = await readBody(req);
  try {
    return raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
  } catch {
    sendJson(res, 400, { __type: errorType, message: 'body is not JSON' }, contentType);
    return undefined;
  }
}

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

  const sqsHost = `127.0.0.1:${emulators.sqsPort}`;
  const fauxqsUrlPattern = new RegExp(`http://sqs\\.[a-z0-9-]+\\.localhost:${emulators.sqsPort}`, 'g');

  /** fauxqs keys queues by its own URL form; clients hold ours (`<endpoint>/<account>/<name>`). */
  const toFauxqsQueueUrl = (queueUrl: unknown): unknown => {
    if (typeof queueUrl !== 'string') return queueUrl;
    let pathname: string;
    try {
      pathname = new URL(queueUrl).pathname;
    } catch {
      return queueUrl;
    }
    const match = QUEUE_PATH.exec(pathname);
    return match ? `http://sqs.${options.region}.localhost:${emulators.sqsPort}/${match[1]}/${match[2]}` : queueUrl;
  };
  const fromFauxqs = (text: string): string => text.replace(fauxqsUrlPattern, url);

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

  const dynamodbCall = emulators.dynamodb.call;
  const transactions = new DynamoDbTransactions(dynamodbCall);
  const dynamodbFaults = createDynamoDbFaults({ faults, region: options.region, accountId: options.accountId });
  const kinesisFaults = createKinesisFaults({
    faults,
    accountId: options.accountId,
    call: (operation, body) => callJsonTarget(agent, emulators.kinesisPort, `Kinesis_20131202.${operation}`, 'application/x-amz-json-1.1', body),
  });

  /** Kinesis: streamed through, unless a set fault concerns this operation. */
  const handleKinesis = async (req: http.IncomingMessage, res: http.ServerResponse, operation: string): Promise<void> => {
    if (!kinesisFaults.concerns(operation, String(req.headers['content-type'] ?? ''))) return pipeTo(req, res, emulators.kinesisPort);
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

  /** One JSON-protocol call to fauxqs, with queue URLs translated both ways. */
  const callSqs = (action: string, body: Record<string, unknown>, headers: http.IncomingHttpHeaders) =>
    new Promise<{ status: number; text: string; queryError?: string }>((resolve, reject) => {
      if (typeof body.QueueUrl === 'string') body.QueueUrl = toFauxqsQueueUrl(body.QueueUrl);
      const payload = Buffer.from(JSON.stringify(body));
      const forwarded: http.OutgoingHttpHeaders = {
        host: sqsHost,
        'content-type': 'application/x-amz-json-1.0',
        'content-length': payload.length,
        'x-amz-target': `AmazonSQS.${action}`,
      };
      // fauxqs reads the region from the signature's credential scope.
      if (headers.authorization) forwarded.authorization = headers.authorization;
      const upstream = http.request({ host: '127.0.0.1', port: emulators.sqsPort, method: 'POST', path: '/', headers: forwarded, agent }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const queryError = answer.headers['x-amzn-query-error'];
          resolve({
            status: answer.statusCode ?? 502,
            text: fromFauxqs(Buffer.concat(chunks).toString('utf8')),
            queryError: typeof queryError === 'string' ? queryError : undefined,
          });
        });
        answer.on('error', reject);
      });
      upstream.on('error', reject);
      upstream.end(payload);
    });

  // Message move tasks (DLQ redrive), which fauxqs lacks, are answered here; their moves go to fauxqs.
  const moveTasks = new SqsMoveTasks({ call: (action, body) => callSqs(action, body, {}) });
  /** One SQS action, JSON protocol, from either protocol's handler. */
  const sqsAction = (action: string, body: Record<string, unknown>, headers: http.IncomingHttpHeaders) =>
    MOVE_TASK_ACTIONS.has(action) ? moveTasks.handle(action, body) : withSqsSendFaults(faults, action, body, (forwarded) => callSqs(action, forwarded, headers));

  const handleSqsJson = async (req: http.IncomingMessage, res: http.ServerResponse, action: string): Promise<void> => {
    const body = await readJsonBody(req, res, 'com.amazon.coral.service#SerializationException', 'application/x-amz-json-1.0');
    if (body === undefined) return;
    const pathMatch = QUEUE_PATH.exec(new URL(req.url ?? '/', 'http://local').pathname);
    if (body.QueueUrl === undefined && pathMatch) body.QueueUrl = `${url}/${pathMatch[1]}/${pathMatch[2]}`;
    const answer = await sqsAction(action, body, req.headers);
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(answer.text) };
    if (answer.queryError) headers['x-amzn-query-error'] = answer.queryError;
    res.writeHead(answer.status, headers);
    res.end(answer.text);
  };

  const handleSqsQuery = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const requestUrl = new URL(req.url ?? '/', 'http://local');
    const raw = req.method === 'POST' ? (await readBody(req)).toString('utf8') : '';
    const params = new URLSearchParams(raw);
    for (const [key, value] of requestUrl.searchParams) if (!params.has(key)) params.set(key, value);
    const requestId = randomUUID();
    const xml = (status: number, text: string): void => {
      res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const action = params.get('Action') ?? '';
    if (!SQS_ACTIONS.has(action)) {
      xml(400, errorToQueryXml({ __type: 'InvalidAction', message: `${action || 'A request without Action'} is not emulated by the local cloud` }, undefined, requestId));
      return;
    }
    const pathMatch = QUEUE_PATH.exec(requestUrl.pathname);
    const translated = queryToJson(params, pathMatch ? `${url}/${pathMatch[1]}/${pathMatch[2]}` : undefined);
    const answer = await sqsAction(translated.action, translated.body, req.headers);
    const json = (answer.text ? JSON.parse(answer.text) : {}) as Record<string, unknown>;
    if (answer.status >= 300) xml(answer.status, errorToQueryXml(json, answer.queryError, requestId));
    else xml(200, jsonToQueryXml(action, json, requestId));
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
      if (service === 'AmazonSQS') return handleSqsJson(req, res, operation);
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
    if (isSqsPath && isQuery) return handleSqsQuery(req, res);
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
      await moveTasks.close();
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
