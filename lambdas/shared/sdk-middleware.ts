/**
 * The SDK's logger middleware runs on every request, logger or not: with the default no-op
 * logger it still copies each command's input through the sensitive-data filter
 * (`schemaLogFilter`) and throws the copy away. For a loader `TransactWriteItems` of 100 items
 * that was about 8% of the loader's CPU in `npm run bench`. No function logs SDK requests, so
 * the clients they build drop it.
 */
export const SDK_LOGGER_MIDDLEWARE = 'loggerMiddleware';

export function withoutRequestLogging<C extends { middlewareStack: { remove(name: string): boolean } }>(client: C): C {
  client.middlewareStack.remove(SDK_LOGGER_MIDDLEWARE);
  return client;
}
