/** An error for a log line: `Name: message`, or the thrown value as text when it is not an Error. */
export function errorMessageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
