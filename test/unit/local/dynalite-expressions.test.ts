import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { cachedValidateExpressions } from '../../../tools/local-cloud/services/dynalite-expressions';

// dynalite's validateExpressions with its successful results remembered answers as dynalite's own.
const require = createRequire(import.meta.url);
const validations = require('dynalite/validations') as { validateExpressions: (data: Record<string, unknown>) => string | undefined };

let parsed = 0;
const original = (data: Record<string, unknown>) => {
  parsed += 1;
  return validations.validateExpressions(data);
};

const REQUESTS: Array<Record<string, unknown>> = [
  { ConditionExpression: 'attribute_not_exists(event_id)' },
  { UpdateExpression: 'ADD #count :n, #sum :s', ExpressionAttributeNames: { '#count': 'count', '#sum': 'sum' }, ExpressionAttributeValues: { ':n': { N: '1' }, ':s': { N: '12.5' } } },
  { UpdateExpression: 'ADD #count :n, #sum :s', ExpressionAttributeNames: { '#count': 'count', '#sum': 'sum' }, ExpressionAttributeValues: { ':n': { N: '2' }, ':s': { N: '3' } } },
  {
    UpdateExpression: 'SET a.b[2] = list_append(a, :l) REMOVE c DELETE d :set',
    ConditionExpression: 'size(x) > :n AND begins_with(#y, :s) OR z IN (:n, :s)',
    ExpressionAttributeNames: { '#y': 'y' },
    ExpressionAttributeValues: { ':n': { N: '2' }, ':l': { L: [{ S: 'x' }] }, ':set': { SS: ['a'] }, ':s': { S: 'q' } },
  },
  { KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)', FilterExpression: 'attribute_exists(a)', ProjectionExpression: 'pk, #n', ExpressionAttributeNames: { '#n': 'n' }, ExpressionAttributeValues: { ':p': { S: 'p' }, ':s': { S: 's' } } },
  // Failures: an unused name, a syntax error, an undefined value.
  { ConditionExpression: 'attribute_exists(a)', ExpressionAttributeNames: { '#unused': 'u' } },
  { UpdateExpression: 'SET = :v', ExpressionAttributeValues: { ':v': { S: 'v' } } },
  { ConditionExpression: 'a = :missing' },
];

/** A request's copy, and what validating it gives (its message and the parsed expressions). */
function run(validate: (data: Record<string, unknown>) => string | undefined, request: Record<string, unknown>) {
  const data = structuredClone(request);
  const message = validate(data);
  return { message, data };
}

describe("dynalite's expressions, remembered", () => {
  it('gives what dynalite gives, the first time and again', () => {
    const cached = cachedValidateExpressions(original);
    for (let round = 0; round < 3; round += 1) {
      for (const request of REQUESTS) {
        const expected = run(validations.validateExpressions, request);
        const got = run(cached, request);
        expect(got.message).toEqual(expected.message);
        expect(got.data).toEqual(expected.data);
        for (const name of ['_updates', '_condition', '_keyCondition', '_filter', '_projection']) {
          // dynalite's prototype-less maps stay prototype-less.
          const paths = (got.data[name] as { nestedPaths?: object } | undefined)?.nestedPaths;
          if (paths) expect(Object.getPrototypeOf(paths)).toBe(Object.getPrototypeOf((expected.data[name] as { nestedPaths: object }).nestedPaths));
        }
      }
    }
  });

  it('parses a successful request once, and failures every time', () => {
    const cached = cachedValidateExpressions(original);
    parsed = 0;
    for (let round = 0; round < 3; round += 1) for (const request of REQUESTS) run(cached, request);
    const failures = REQUESTS.filter((request) => run(validations.validateExpressions, request).message !== undefined).length;
    expect(failures).toBe(3);
    expect(parsed).toBe(REQUESTS.length - failures + 3 * failures);
  });

  it("hands out copies: changing one request's parse does not change the next", () => {
    const cached = cachedValidateExpressions(original);
    const first = run(cached, REQUESTS[1]!).data as { _updates: { sections: Array<{ val: { N: string } }> } };
    first._updates.sections[0]!.val.N = '999';
    const second = run(cached, REQUESTS[1]!).data as { _updates: { sections: Array<{ val: { N: string } }> } };
    expect(second._updates.sections[0]!.val.N).toBe('1');
  });

  it('starts over when full', () => {
    const cached = cachedValidateExpressions(original, 2);
    parsed = 0;
    for (const request of [REQUESTS[0]!, REQUESTS[1]!, REQUESTS[2]!, REQUESTS[0]!]) run(cached, request);
    expect(parsed).toBe(4);
  });
});
