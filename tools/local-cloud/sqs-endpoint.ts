import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { FaultController } from './fault-set';
import { readBody } from './read-body';
import { readJsonBody } from './endpoint-io';
import { withSqsSendFaults } from './services/sqs-faults';
import { SQS_ACTIONS, errorToQueryXml, jsonToQueryXml, queryToJson } from './services/sqs-query';
import { MOVE_TASK_ACTIONS, SqsMoveTasks } from './services/sqs-move-tasks';

/** `/<account>/<queue name>`: the path of a queue URL, ours and fauxqs's alike. */
export const QUEUE_PATH = /^\/(\d{12})\/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)\/?$/;

/**
 * SQS on the local endpoint, both protocols (JSON and query), in front of fauxqs: queue URLs
 * translated both ways (clients hold `<endpoint>/<account>/<name>`), send faults applied, and the
 * message move tasks (DLQ redrive) fauxqs lacks answered here.
 */
export function createSqsEndpoint(options: {
  region: string;
  sqsPort: number;
  agent: http.Agent;
  faults: FaultController;
  /** The endpoint's own URL, known once it listens. */
  endpointUrl: () => string;
}) {
  const { agent, faults } = options;
  const sqsHost = `127.0.0.1:${options.sqsPort}`;
  const fauxqsUrlPattern = new RegExp(`http://sqs\\.[a-z0-9-]+\\.localhost:${options.sqsPort}`, 'g');

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
    return match ? `http://sqs.${options.region}.localhost:${options.sqsPort}/${match[1]}/${match[2]}` : queueUrl;
  };
  const fromFauxqs = (text: string): string => text.replace(fauxqsUrlPattern, options.endpointUrl());

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
      const upstream = http.request({ host: '127.0.0.1', port: options.sqsPort, method: 'POST', path: '/', headers: forwarded, agent }, (answer) => {
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
    if (body.QueueUrl === undefined && pathMatch) body.QueueUrl = `${options.endpointUrl()}/${pathMatch[1]}/${pathMatch[2]}`;
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
    const translated = queryToJson(params, pathMatch ? `${options.endpointUrl()}/${pathMatch[1]}/${pathMatch[2]}` : undefined);
    const answer = await sqsAction(translated.action, translated.body, req.headers);
    const json = (answer.text ? JSON.parse(answer.text) : {}) as Record<string, unknown>;
    if (answer.status >= 300) xml(answer.status, errorToQueryXml(json, answer.queryError, requestId));
    else xml(200, jsonToQueryXml(action, json, requestId));
  };

  return { handleSqsJson, handleSqsQuery, closeMoveTasks: () => moveTasks.close() };
}
