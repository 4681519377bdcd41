import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { FaultController } from '../fault-set';

/**
 * S3 on the one local endpoint: fauxqs's S3 (in memory, path-style: `/bucket/key`), reached
 * through the endpoint like every other service, so `@aws-sdk/client-s3` with `forcePathStyle`
 * and `aws s3 --endpoint-url` work against it. What S3 operations fauxqs answers: its README
 * (buckets, objects, ListObjects V1 and V2 with prefix, delimiter and continuation tokens,
 * multipart uploads, DeleteObjects); versioning, lifecycle, encryption and bucket policies are not
 * emulated (the start-up lines say so).
 *
 * A request is S3's when its SigV4 credential scope names the `s3` service (Authorization header
 * or a presigned URL's X-Amz-Credential). The other services of the endpoint are told apart by
 * X-Amz-Target (JSON protocols) or are SQS's query protocol, whose scope names `sqs`.
 */

const S3_SCOPE = /\/[a-z0-9-]+\/s3\/aws4_request/;

export function isS3Request(req: http.IncomingMessage, url: URL): boolean {
  const authorization = req.headers.authorization;
  if (typeof authorization === 'string') return S3_SCOPE.test(authorization);
  const credential = url.searchParams.get('X-Amz-Credential');
  return credential !== null && S3_SCOPE.test(`/${credential}`);
}

/** An object upload (PutObject or a multipart part): a PUT on a key, not a copy. */
function isObjectUpload(req: http.IncomingMessage, url: URL): boolean {
  const [bucket, ...key] = url.pathname.slice(1).split('/');
  return req.method === 'PUT' && Boolean(bucket) && key.join('/') !== '' && req.headers['x-amz-copy-source'] === undefined;
}

/** The error document S3 answers with. */
export function s3ErrorXml(code: string, message: string, resource: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message><Resource>${escapeXml(resource)}</Resource><RequestId>${randomUUID()}</RequestId></Error>`
  );
}

/** The fault set's S3 faults (contract §5): PutObject answered 503 SlowDown, as S3 does when it sheds load. */
export function s3Fault(faults: FaultController, req: http.IncomingMessage, url: URL): { status: number; body: string } | undefined {
  if (!faults.configured('s3.putObjectFailure') || !isObjectUpload(req, url) || !faults.s3PutObjectFailure()) return undefined;
  return { status: 503, body: s3ErrorXml('SlowDown', 'Please reduce your request rate.', url.pathname) };
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
