import http from 'node:http';

/**
 * Buffered calls to the emulators behind the endpoint, for the requests the endpoint has to read
 * or change (faults, transactions); everything else is streamed through untouched.
 */

export interface UpstreamAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Sends the client's request (method, path, headers) with `payload` as its body to an emulator. */
export function requestUpstream(
  agent: http.Agent,
  port: number,
  request: { method: string; path: string; headers: http.IncomingHttpHeaders },
  payload: Buffer,
): Promise<UpstreamAnswer> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { ...request.headers, host: `127.0.0.1:${port}`, 'content-length': payload.length };
    delete headers['transfer-encoding'];
    const upstream = http.request({ host: '127.0.0.1', port, method: request.method, path: request.path, headers, agent }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }));
      answer.on('error', reject);
    });
    upstream.on('error', reject);
    upstream.end(payload);
  });
}

/** A JSON-protocol call (`X-Amz-Target`) to an emulator, answered as parsed JSON. */
export async function callJsonTarget(
  agent: http.Agent,
  port: number,
  target: string,
  contentType: string,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await requestUpstream(
    agent,
    port,
    // dynalite and kinesalite check that a signature is present, not that it is valid.
    {
      method: 'POST',
      path: '/',
      headers: {
        'content-type': contentType,
        'x-amz-target': target,
        'x-amz-date': new Date().toISOString().replace(/[-:]|\.\d{3}/g, ''),
        authorization: 'AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/local/aws4_request, SignedHeaders=host;x-amz-date, Signature=0',
      },
    },
    Buffer.from(JSON.stringify(body)),
  );
  const text = answer.body.toString('utf8');
  return { status: answer.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
