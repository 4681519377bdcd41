import http from 'node:http';

/**
 * Buffered calls to the emulators behind the endpoint, for the requests the endpoint has to read
 * or change (faults); everything else is called in process or streamed through untouched.
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
