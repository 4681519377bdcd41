import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { startEmulators, type Emulators } from './services/emulators';
import { SecretsManagerService } from './services/secrets-manager';
import { SQS_ACTIONS, errorToQueryXml, jsonToQueryXml, queryToJson } from './services/sqs-query';

/**
 * One endpoint for every local service, LocalStack-style (AWS_ENDPOINT_URL / --endpoint-url):
 * requests are routed by protocol and X-Amz-Target to kinesalite, dynalite, fauxqs or the
 * in-process Secrets Manager; `/_local/*` serves the CLI; everything else goes to the API.
 */

export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>;
export type MetricsProvider = () => Promise<object> | object;

export interface AwsEndpointOptions {
  /** 0 picks a free port (tests). */
  port: number;
  region: string;
  accountId: string;
  host?: string;
}

export interface AwsEndpoint {
  /** Base URL, no trailing slash: what AWS_ENDPOINT_URL and --endpoint-url take. */
  url: string;
  port: number;
  secrets: SecretsManagerService;
  /** Serves the API stages (`/<stage>/...`); returns false when a request is not for an API. */
  setApiHandler(handler: RequestHandler | undefined): void;
  setMetricsProvider(provider: MetricsProvider | undefined): void;
  /** `/_local/health` reports ready only once everything is up. */
  setReady(ready: boolean): void;
  close(): Promise<void>;
}

const QUEUE_PATH = /^\/(\d{12})\/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)\/?$/;

function sendJson(res: http.ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startAwsEndpoint(options: AwsEndpointOptions): Promise<AwsEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const emulators: Emulators = await startEmulators();
  const secrets = new SecretsManagerService(options.region, options.accountId);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let apiHandler: RequestHandler | undefined;
  let metricsProvider: MetricsProvider | undefined;
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

  /** Streams the request to an emulator unchanged and streams its answer back. */
  const pipeTo = (req: http.IncomingMessage, res: http.ServerResponse, port: number): void => {
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

  const handleSqsJson = async (req: http.IncomingMessage, res: http.ServerResponse, action: string): Promise<void> => {
    const raw = await readBody(req);
    let body: Record<string, unknown>;
    try {
      body = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      sendJson(res, 400, { __type: 'com.amazon.coral.service#SerializationException', message: 'body is not JSON' }, 'application/x-amz-json-1.0');
      return;
    }
    const pathMatch = QUEUE_PATH.exec(new URL(req.url ?? '/', 'http://local').pathname);
    if (body.QueueUrl === undefined && pathMatch) body.QueueUrl = `${url}/${pathMatch[1]}/${pathMatch[2]}`;
    const answer = await callSqs(action, body, req.headers);
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
    const answer = await callSqs(translated.action, translated.body, req.headers);
    const json = (answer.text ? JSON.parse(answer.text) : {}) as Record<string, unknown>;
    if (answer.status >= 300) xml(answer.status, errorToQueryXml(json, answer.queryError, requestId));
    else xml(200, jsonToQueryXml(action, json, requestId));
  };

  const handleSecrets = async (req: http.IncomingMessage, res: http.ServerResponse, operation: string): Promise<void> => {
    const raw = await readBody(req);
    let body: Record<string, unknown>;
    try {
      body = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      sendJson(res, 400, { __type: 'SerializationException', message: 'body is not JSON' }, 'application/x-amz-json-1.1');
      return;
    }
    const answer = secrets.handle(operation, body);
    sendJson(res, answer.status, answer.body, 'application/x-amz-json-1.1');
  };

  const route = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const requestUrl = new URL(req.url ?? '/', 'http://local');
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      const dot = target.indexOf('.');
      const service = target.slice(0, dot);
      const operation = target.slice(dot + 1);
      if (service === 'Kinesis_20131202') return pipeTo(req, res, emulators.kinesisPort);
      if (service === 'DynamoDB_20120810' || service === 'DynamoDBStreams_20120810') return pipeTo(req, res, emulators.dynamodbPort);
      if (service === 'AmazonSQS') return handleSqsJson(req, res, operation);
      if (service === 'secretsmanager') return handleSecrets(req, res, operation);
      req.resume();
      return sendJson(res, 400, { __type: 'UnknownOperationException', message: `${target} is not emulated by the local cloud` });
    }
    if (requestUrl.pathname === '/_local/health') {
      return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'starting', endpoint: url });
    }
    if (requestUrl.pathname === '/_local/metrics') {
      if (!metricsProvider) return sendJson(res, 503, { error: { code: 'not_ready', message: 'the local cloud is still starting' } });
      return sendJson(res, 200, await metricsProvider());
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

  const server = http.createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) sendJson(res, 500, { __type: 'InternalFailure', message });
      else res.destroy();
    });
  });
  // Lambda-style long polls and keep-alive SDK clients: no server-side request timeout.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 5_000;

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
    setApiHandler: (handler) => (apiHandler = handler),
    setMetricsProvider: (provider) => (metricsProvider = provider),
    setReady: (value) => (ready = value),
    async close() {
      ready = false;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
      await emulators.stop();
    },
  };
}
