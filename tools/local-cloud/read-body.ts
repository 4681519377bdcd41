import type http from 'node:http';

export class BodyTooLarge extends Error {}
export class BodyTimeout extends Error {}

export interface ReadBodyLimits {
  /** Refuse (BodyTooLarge) a body declared or found larger than this. No limit when absent. */
  maxBytes?: number;
  /** Give up (BodyTimeout) when no byte came for this long. No timeout when absent. */
  idleMs?: number;
}

/**
 * A request's whole body, for the local cloud's HTTP servers (the API Gateway emulation reads
 * with both limits, the AWS endpoint with none).
 */
export function readBody(req: http.IncomingMessage, limits: ReadBodyLimits = {}): Promise<Buffer> {
  const { maxBytes, idleMs } = limits;
  const declared = Number(req.headers['content-length'] ?? 0);
  if (maxBytes !== undefined && declared > maxBytes) {
    req.resume();
    return Promise.reject(new BodyTooLarge());
  }
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const settle = (error?: Error) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks));
    };
    const arm = () => {
      if (idleMs === undefined) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        req.pause();
        settle(new BodyTimeout());
      }, idleMs);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (maxBytes !== undefined && size > maxBytes) {
        req.resume();
        settle(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
      arm();
    };
    const onEnd = () => settle();
    const onError = (error: Error) => settle(error);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    arm();
  });
}
