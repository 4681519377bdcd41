import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { convertToAttr, type marshallOptions } from '@aws-sdk/util-dynamodb';

/**
 * DynamoDB's wire format (AttributeValue), written directly: the loader sends its items with the
 * plain client, so the document client's walk of the whole TransactWriteItems input
 * (lib-dynamodb `processKeysInObj`) and util-dynamodb's per-value dispatch are skipped.
 *
 * `attributeValue(v)` is exactly util-dynamodb's `convertToAttr(v, { removeUndefinedValues: true })`,
 * which is what the document client (marshallOptions `removeUndefinedValues`) writes for each
 * attribute: strings as `{S}`, finite numbers in the safe integer range as `{N: String(n)}`,
 * booleans as `{BOOL}`, null as `{NULL: true}`, plain objects as `{M}` and arrays as `{L}` (undefined
 * values and functions left out). Anything else (a number util-dynamodb refuses, a Set, a Map,
 * binary data, a bigint, a class instance, an object without a prototype) goes to `convertToAttr`
 * itself, so it gets the same value or the same error. test/unit/loader/wire.test.ts holds both to it.
 */

const OPTIONS: marshallOptions = { removeUndefinedValues: true };

export function attributeValue(value: unknown): AttributeValue {
  switch (typeof value) {
    case 'string':
      return { S: value };
    case 'number':
      // NaN, the infinities and numbers outside the safe integer range: util-dynamodb's errors.
      return Number.isFinite(value) && value <= Number.MAX_SAFE_INTEGER && value >= Number.MIN_SAFE_INTEGER
        ? { N: String(value) }
        : (convertToAttr(value, OPTIONS) as AttributeValue);
    case 'boolean':
      return { BOOL: value };
    case 'object':
      if (value === null) return { NULL: true };
      if (Array.isArray(value)) return { L: listValue(value) };
      if ((value as { constructor?: unknown }).constructor === Object) return { M: mapValue(value as Record<string, unknown>) };
      break;
  }
  return convertToAttr(value, OPTIONS) as AttributeValue;
}

function listValue(values: readonly unknown[]): AttributeValue[] {
  const list: AttributeValue[] = [];
  for (const item of values) if (item !== undefined && typeof item !== 'function') list.push(attributeValue(item));
  return list;
}

function mapValue(object: Record<string, unknown>): Record<string, AttributeValue> {
  const map: Record<string, AttributeValue> = {};
  // for...in, as util-dynamodb walks a plain object.
  for (const key in object) {
    const value = object[key];
    if (value !== undefined && typeof value !== 'function') map[key] = attributeValue(value);
  }
  return map;
}

/** A number attribute (`{N}`), as the document client writes a number. */
export function numberValue(value: number): AttributeValue {
  return attributeValue(value);
}
