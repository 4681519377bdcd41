/**
 * An error the operator can act on: printed as one clear message (no stack) with a non-zero exit.
 * Everything else is unexpected and printed with its stack.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT']);

/** The network error code behind an SDK or fetch failure, when there is one. */
export function networkErrorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return code;
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors)) {
      const inner = errors.map(networkErrorCode).find(Boolean);
      if (inner) return inner;
    }
    current = (current as { cause?: unknown }).cause;
  }
  const name = (error as { name?: unknown })?.name;
  if (name === 'TimeoutError') return 'ETIMEDOUT';
  return undefined;
}

/** Turns the failures an operator can fix (no endpoint, no credentials, no access) into CliErrors. */
export function explainError(error: unknown, target?: string): Error {
  if (error instanceof CliError) return error;
  const where = target ? ` ${target}` : '';
  const network = networkErrorCode(error);
  if (network) {
    return new CliError(
      `cannot reach${where || ' the endpoint'} (${network}). Is the local cloud running (npm start), and the outputs file from this run?`,
    );
  }
  const name = (error as { name?: unknown })?.name;
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new CliError(`no AWS credentials: ${message}. Set AWS_PROFILE or pass --profile.`);
  }
  if (name === 'ResourceNotFoundException' || name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue') {
    return new CliError(`a resource named in the outputs file does not exist${where}: ${message}. Is the outputs file from this stack?`);
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'UnrecognizedClientException' || name === 'InvalidClientTokenId') {
    return new CliError(`access denied${where}: ${message}`);
  }
  return error instanceof Error ? error : new Error(message);
}
