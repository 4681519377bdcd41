import { createRequire } from 'node:module';

/**
 * dynalite parses every request's expressions again (a PEG parser per UpdateExpression and
 * ConditionExpression), which was the largest part of its validation for the loader's
 * transactions: the same `attribute_not_exists(event_id)` for every event. This remembers what a
 * successful `validateExpressions` made of a request's expressions, names and values, and gives a
 * fresh copy of it to the next request with the same ones. Failures are not remembered: they are
 * parsed again and worded by dynalite. test/unit/local/dynalite-expressions.test.ts compares both.
 */

const require = createRequire(import.meta.url);

type Data = Record<string, unknown>;
type ValidateExpressions = (data: Data, ...rest: unknown[]) => string | undefined;

/** What validateExpressions reads, and what it adds to the request. */
const INPUTS = ['UpdateExpression', 'ConditionExpression', 'KeyConditionExpression', 'FilterExpression', 'ProjectionExpression', 'ExpressionAttributeNames', 'ExpressionAttributeValues'] as const;
const OUTPUTS = ['_updates', '_condition', '_keyCondition', '_filter', '_projection'] as const;
/** Distinct expression sets kept (the aggregates' ADD values vary); the cache starts over beyond. */
const MAX_ENTRIES = 5_000;

/** A deep copy of a parse result (plain data), keeping dynalite's prototype-less maps prototype-less. */
function copy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copy);
  const out: Record<string, unknown> = Object.getPrototypeOf(value) === null ? Object.create(null) : {};
  for (const key of Object.keys(value)) out[key] = copy((value as Record<string, unknown>)[key]);
  return out;
}

export function cachedValidateExpressions(validate: ValidateExpressions, maxEntries = MAX_ENTRIES): ValidateExpressions {
  const cache = new Map<string, Partial<Record<(typeof OUTPUTS)[number], unknown>>>();
  return (data, ...rest) => {
    const key = JSON.stringify(INPUTS.map((name) => data[name] ?? null));
    const known = cache.get(key);
    if (known) {
      for (const name of OUTPUTS) if (name in known) data[name] = copy(known[name]);
      return undefined;
    }
    const message = validate(data, ...rest);
    if (message === undefined) {
      if (cache.size >= maxEntries) cache.clear();
      const made: Partial<Record<(typeof OUTPUTS)[number], unknown>> = {};
      for (const name of OUTPUTS) if (data[name] !== undefined) made[name] = copy(data[name]);
      cache.set(key, made);
    }
    return message;
  };
}

let installed = false;

/** Puts the cached version on dynalite's validations module, which every action's validation calls it through. */
export function installCachedExpressions(): void {
  if (installed) return;
  const validations = require('dynalite/validations') as { validateExpressions: ValidateExpressions };
  validations.validateExpressions = cachedValidateExpressions(validations.validateExpressions);
  installed = true;
}
