// validateEvent: valid means storable (DynamoDB and the SQL sink store every number exactly).
import { describe, expect, it } from 'vitest';
import { decimalPlaces, isDynamoStorable, significantDigits } from '../../../lambdas/shared/events';
import { sampleEventV1, sampleEventV2, sampleEventV3 } from '../../fixtures/events';
import { errorsOf, expectError, expectValid } from './helpers';
import { at, validate, samples, versions } from './validate-setup';

describe('storable numbers (valid means storable: DynamoDB and the SQL sink store it exactly)', () => {
  // 5e-324 passed the range check and DynamoDB then refused the item (underflow): load_failed.
  it.each(versions)('v%i: a price below a ten-thousandth is too_precise, not valid', (version) => {
    for (const price of [5e-324, 1e-131, 0.12345, 0.00001, 999_999.99999]) {
      const error = expectError(validate(samples[version]({ price })), 'price', 'too_precise');
      expect(error.message).toBe(`price must have at most 4 decimal places (got ${String(price)})`);
    }
  });

  it.each(versions)('v%i: 0.0001, 999999.9999, 0.1 and 1e-4 are valid prices', (version) => {
    for (const price of [0.0001, 999_999.9999, 0.1, 1e-4, 1_000_000]) {
      expect(expectValid(validate(samples[version]({ price }))).event.price).toBe(price);
    }
  });

  it('1e126 is too big wherever a number goes', () => {
    expectError(validate(sampleEventV3({ price: 1e126 })), 'price', 'too_big');
    expectError(validate(sampleEventV3({ quantity: 1e126 })), 'quantity', 'too_big');
    expectError(validate(sampleEventV1({ user_id: 1e126 })), 'user_id', 'too_big');
  });

  // Every numeric place of every version: price, quantity (v2, v3), a v1 user_id, schema_version.
  it.each([5e-324, 1e-131, 0.12345, 1e126])('%d is never valid in any numeric field of any version', (value) => {
    const places: Array<[string, Record<string, unknown>]> = [
      ...versions.map((v) => [`v${v} price`, samples[v]({ price: value })] as [string, Record<string, unknown>]),
      ['v2 quantity', sampleEventV2({ quantity: value })],
      ['v3 quantity', sampleEventV3({ quantity: value })],
      ['v1 user_id', sampleEventV1({ user_id: value })],
      ['schema_version', sampleEventV3({ schema_version: value })],
    ];
    for (const [place, event] of places) {
      const result = validate(event);
      expect(result.ok, place).toBe(false);
      const errors = errorsOf(result);
      expect(errors.length, place).toBeGreaterThan(0);
      for (const error of errors) expect(error.message, place).not.toBe('');
    }
  });

  it('counts decimal places on the number JSON carries (0.10 is 0.1)', () => {
    expectValid(validate(JSON.parse(JSON.stringify(sampleEventV3()).replace('"price":19.99', '"price":19.9900'))));
  });

  it('a valid event keeps only numbers DynamoDB stores, after migration too', () => {
    for (const [event, version] of [
      [sampleEventV1({ price: 0.0001, user_id: Number.MAX_SAFE_INTEGER }), 1],
      [sampleEventV2({ price: 999_999.9999, quantity: 1000 }), 2],
      [sampleEventV3({ price: 0.0001, quantity: 1 }), 3],
    ] as const) {
      const result = expectValid(validate(event));
      expect(result.originalVersion).toBe(version);
      for (const value of Object.values(result.event)) {
        if (typeof value === 'number') expect(isDynamoStorable(value), String(value)).toBe(true);
      }
    }
  });
});

describe('isDynamoStorable, decimalPlaces, significantDigits', () => {
  it('follows DynamoDB: 38 significant digits, magnitudes 1e-130 to below 1e126', () => {
    for (const value of [0, -0, 1e-130, 1.5, -2.25, 9.999e125, 123456789012345.6]) expect(isDynamoStorable(value), String(value)).toBe(true);
    for (const value of [5e-324, 1e-131, 1e126, -1e126, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(isDynamoStorable(value), String(value)).toBe(false);
    }
  });

  it('counts on the shortest JSON form', () => {
    expect([0.0001, 999_999.9999, 5e-324, 1e126, 12.5, 0].map(decimalPlaces)).toEqual([4, 4, 324, 0, 1, 0]);
    expect([12.5, 1e126, 0.0001, 120].map(significantDigits)).toEqual([3, 1, 1, 2]);
  });
});
