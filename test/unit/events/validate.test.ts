import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  EVENT_TYPES,
  LIMITS,
  eventV1Schema,
  eventV2Schema,
  eventV3Schema,
  decimalPlaces,
  isDynamoStorable,
  significantDigits,
  validateEvent,
} from '../../../lambdas/shared/events';
import {
  SAMPLE_RECEIVED_AT,
  sampleEventV1,
  sampleEventV2,
  sampleEventV3,
  sampleSearchEventV3,
} from '../../fixtures/events';
import { errorsOf, expectError, expectValid } from './helpers';

const at = SAMPLE_RECEIVED_AT;
const validate = (event: unknown) => validateEvent(event, at);
const samples = { 1: sampleEventV1, 2: sampleEventV2, 3: sampleEventV3 } as const;
const versions = [1, 2, 3] as const;
const MINUTE = 60_000;
const DAY = 86_400_000;
const isoOffsetFromReceipt = (ms: number) => new Date(at.getTime() + ms).toISOString();

describe('samples', () => {
  it.each(versions)('the v%i sample is valid and reports its version', (version) => {
    const result = expectValid(validate(samples[version]()));
    expect(result.originalVersion).toBe(version);
    expect(result.event.schema_version).toBe(3);
  });

  it('an event without schema_version is read as v3', () => {
    const result = expectValid(validate(sampleEventV3({ schema_version: undefined })));
    expect(result.originalVersion).toBe(3);
    expect(result.event.schema_version).toBe(3);
    expect(result.event.currency).toBe('EUR');
  });

  it('an anonymous v3 search without user is valid', () => {
    expectValid(validate(sampleSearchEventV3()));
  });
});

describe('schema_version', () => {
  it.each([4, 0, '3', null, 2.5, true])('%j is an unsupported_schema_version', (value) => {
    const result = validate(sampleEventV3({ schema_version: value }));
    const error = expectError(result, 'schema_version', 'unsupported_schema_version');
    expect(error.message).toMatch(/1, 2 or 3/);
  });
});

describe('not an object', () => {
  it.each([null, [], 'event', 42, undefined])('%j is not_an_object at the root', (input) => {
    const errors = errorsOf(validate(input));
    expect(errors).toEqual([expect.objectContaining({ path: '', code: 'not_an_object' })]);
  });
});

describe('unknown fields', () => {
  it.each(versions)('v%i: an unknown field is an error naming that field', (version) => {
    const result = validate(samples[version]({ colour: 'red' }));
    const error = expectError(result, 'colour', 'unknown_field');
    expect(error.message).toContain('colour');
  });

  it('reports each unknown field separately', () => {
    const errors = errorsOf(validate(sampleEventV3({ colour: 'red', sizee: 'M' })));
    expect(errors.filter((e) => e.code === 'unknown_field').map((e) => e.path).sort()).toEqual(['colour', 'sizee']);
  });

  it.each([
    [1, 'session_id', 2],
    [1, 'quantity', 2],
    [1, 'currency', 3],
    [2, 'currency', 3],
    [2, 'search_query', 3],
    [2, 'geo_country', 3],
  ] as const)('v%i does not know %s and says from which version it exists', (version, field, since) => {
    const result = validate(samples[version]({ [field]: field === 'quantity' ? 1 : 'XX' }));
    const error = expectError(result, field, 'unknown_field');
    expect(error.message).toContain(`version ${since}`);
  });

  it('the exported schemas are strict on their own', () => {
    expect(eventV1Schema.safeParse(sampleEventV1({ colour: 'red' })).success).toBe(false);
    expect(eventV2Schema.safeParse(sampleEventV2({ colour: 'red' })).success).toBe(false);
    expect(eventV3Schema.safeParse(sampleEventV3({ colour: 'red' })).success).toBe(false);
    expect(eventV3Schema.safeParse(sampleEventV3()).success).toBe(true);
  });
});

describe('error count', () => {
  it('lists at most LIMITS.maxErrorsPerEvent errors, the last one counting the rest', () => {
    const unknown = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 1]));
    const result = validate(sampleEventV3(unknown));
    const errors = errorsOf(result);
    expect(errors).toHaveLength(LIMITS.maxErrorsPerEvent);
    expect(errors.slice(0, -1).every((e) => e.code === 'unknown_field')).toBe(true);
    expect(errors.at(-1)).toEqual({ path: '', code: 'too_many_errors', message: `${500 - LIMITS.maxErrorsPerEvent + 1} more errors not listed (500 in all)` });
  });

  it('lists every error when there are not too many', () => {
    const unknown = Object.fromEntries(Array.from({ length: LIMITS.maxErrorsPerEvent }, (_, i) => [`k${i}`, 1]));
    const errors = errorsOf(validate(sampleEventV3(unknown)));
    expect(errors).toHaveLength(LIMITS.maxErrorsPerEvent);
    expect(errors.every((e) => e.code === 'unknown_field')).toBe(true);
  });
});

describe('event_id', () => {
  it.each(versions)('v%i: required', (version) => {
    expectError(validate(samples[version]({ event_id: undefined })), 'event_id', 'required');
  });
  it.each(['not-a-uuid', '', '12345678-1234-1234-1234-1234567890'])('%j is invalid_format', (value) => {
    expectError(validate(sampleEventV3({ event_id: value })), 'event_id', 'invalid_format');
  });
  it('a number is invalid_type', () => {
    expectError(validate(sampleEventV3({ event_id: 7 })), 'event_id', 'invalid_type');
  });
});

describe('event_type', () => {
  it.each(EVENT_TYPES)('v3 accepts %s (with the fields it needs)', (type) => {
    const extra = type === 'search' ? { search_query: 'shoes' } : {};
    expectValid(validate(sampleEventV3({ event_type: type, ...extra })));
  });
  it('v1 accepts view; v2 and v3 do not', () => {
    expectValid(validate(sampleEventV1({ event_type: 'view' })));
    expectError(validate(sampleEventV2({ event_type: 'view' })), 'event_type', 'invalid_value');
    expectError(validate(sampleEventV3({ event_type: 'view' })), 'event_type', 'invalid_value');
  });
  it('an unknown type is invalid_value and shows the value sent', () => {
    const error = expectError(validate(sampleEventV3({ event_type: 'clik' })), 'event_type', 'invalid_value');
    expect(error.message).toContain('"clik"');
    expect(error.message).toContain('page_view');
  });
  it.each(versions)('v%i: required', (version) => {
    expectError(validate(samples[version]({ event_type: undefined })), 'event_type', 'required');
  });
});

describe('event_time', () => {
  it.each(versions)('v%i: required', (version) => {
    expectError(validate(samples[version]({ event_time: undefined })), 'event_time', 'required');
  });

  it.each(['2026-11-22T10:00:00Z', '2026-11-22T10:00:00.123Z', '2026-11-22T12:00:00+02:00', '2026-11-22T05:00:00-05:00'])(
    'accepts %s',
    (value) => {
      expectValid(validate(sampleEventV3({ event_time: value })));
    },
  );

  it.each(['2026-11-22T10:00:00', '2026-11-22', '22/11/2026 10:00', 'yesterday', '2026-02-30T10:00:00Z'])(
    'rejects %s as invalid_format',
    (value) => {
      expectError(validate(sampleEventV3({ event_time: value })), 'event_time', 'invalid_format');
    },
  );

  it('a number is invalid_type', () => {
    expectError(validate(sampleEventV3({ event_time: at.getTime() })), 'event_time', 'invalid_type');
  });

  it.each(versions)('v%i: exactly 5 minutes after receipt is accepted, 1 ms more is in_future', (version) => {
    expectValid(validate(samples[version]({ event_time: isoOffsetFromReceipt(5 * MINUTE) })));
    const error = expectError(
      validate(samples[version]({ event_time: isoOffsetFromReceipt(5 * MINUTE + 1) })),
      'event_time',
      'in_future',
    );
    expect(error.message).toMatch(/5 minutes/);
  });

  it.each(versions)('v%i: exactly 7 days before receipt is accepted, 1 ms more is too_old', (version) => {
    expectValid(validate(samples[version]({ event_time: isoOffsetFromReceipt(-7 * DAY) })));
    const error = expectError(
      validate(samples[version]({ event_time: isoOffsetFromReceipt(-7 * DAY - 1) })),
      'event_time',
      'too_old',
    );
    expect(error.message).toMatch(/7 days/);
  });

  it('the window applies to the instant, not the local clock text of an offset', () => {
    // 12:05+02:00 is 10:05Z: exactly 5 minutes ahead.
    expectValid(validate(sampleEventV3({ event_time: '2026-11-22T12:05:00+02:00' })));
    expectError(validate(sampleEventV3({ event_time: '2026-11-22T12:05:01+02:00' })), 'event_time', 'in_future');
  });

  it('the reference time is the receivedAt passed in, not the clock', () => {
    const event = sampleEventV3({ event_time: '2020-01-01T00:00:00Z' });
    expectValid(validateEvent(event, new Date('2020-01-01T00:01:00Z')));
    expectError(validateEvent(event, at), 'event_time', 'too_old');
  });
});

describe('user_id and anonymous events', () => {
  const anonymousTypes = ['page_view', 'search'] as const;
  const identifiedTypes = ['add_to_cart', 'remove_from_cart', 'wishlist', 'purchase'] as const;

  it.each(versions.flatMap((v) => anonymousTypes.flatMap((t) => [[v, t, null] as const, [v, t, undefined] as const])))(
    'v%i %s may be anonymous (user_id %j)',
    (version, type, userId) => {
      const extra = version === 3 && type === 'search' ? { search_query: 'shoes' } : {};
      expectValid(validate(samples[version]({ event_type: type, user_id: userId, ...extra })));
    },
  );

  it.each(versions.flatMap((v) => identifiedTypes.flatMap((t) => [[v, t, null] as const, [v, t, undefined] as const])))(
    'v%i %s needs a user (user_id %j is an error)',
    (version, type, userId) => {
      const error = expectError(
        validate(samples[version]({ event_type: type, user_id: userId })),
        'user_id',
        'required',
      );
      expect(error.message).toContain('page_view and search');
    },
  );

  it('v1 reads a positive integer user_id; v2 and v3 do not', () => {
    expectValid(validate(sampleEventV1({ user_id: 7 })));
    expectError(validate(sampleEventV2({ user_id: 7 })), 'user_id', 'invalid_type');
    expectError(validate(sampleEventV3({ user_id: 7 })), 'user_id', 'invalid_type');
  });

  it.each([0, -3])('v1 rejects the non-positive user_id %j as too_small', (value) => {
    expectError(validate(sampleEventV1({ user_id: value })), 'user_id', 'too_small');
  });
  it('v1 rejects a fractional user_id as invalid_type', () => {
    expectError(validate(sampleEventV1({ user_id: 1.5 })), 'user_id', 'invalid_type');
  });

  it('an empty string is not a user (too_small in v2/v3, invalid in v1)', () => {
    expectError(validate(sampleEventV3({ user_id: '' })), 'user_id', 'too_small');
    expectError(validate(sampleEventV2({ user_id: '' })), 'user_id', 'too_small');
    expect(errorsOf(validate(sampleEventV1({ user_id: '' }))).map((e) => e.path)).toContain('user_id');
  });
});

describe('product_id', () => {
  it.each(versions.flatMap((v) => (['add_to_cart', 'remove_from_cart', 'wishlist', 'purchase'] as const).map((t) => [v, t] as const)))(
    'v%i %s requires product_id',
    (version, type) => {
      const error = expectError(
        validate(samples[version]({ event_type: type, product_id: undefined })),
        'product_id',
        'required',
      );
      expect(error.message).toContain(type);
    },
  );
  it('page_view and search do not', () => {
    expectValid(validate(sampleEventV3({ event_type: 'page_view', product_id: undefined })));
    expectValid(validate(sampleSearchEventV3({ product_id: undefined })));
  });
  it('an empty product_id is too_small', () => {
    expectError(validate(sampleEventV3({ product_id: '' })), 'product_id', 'too_small');
  });
});

describe('price', () => {
  it.each(versions.flatMap((v) => (['add_to_cart', 'purchase'] as const).map((t) => [v, t] as const)))(
    'v%i %s requires price',
    (version, type) => {
      const extra = version === 3 ? { currency: undefined } : {};
      expectError(validate(samples[version]({ event_type: type, price: undefined, ...extra })), 'price', 'required');
    },
  );

  it.each(versions)('v%i: purchase needs price > 0', (version) => {
    const error = expectError(validate(samples[version]({ event_type: 'purchase', price: 0 })), 'price', 'too_small');
    expect(error.message).toBe('purchase needs price > 0');
  });

  it('add_to_cart at price 0 (a free item) is valid', () => {
    expectValid(validate(sampleEventV3({ event_type: 'add_to_cart', price: 0 })));
  });

  it('remove_from_cart, wishlist, page_view and search need no price', () => {
    for (const type of ['remove_from_cart', 'wishlist', 'page_view'] as const) {
      expectValid(validate(sampleEventV3({ event_type: type, price: undefined, currency: undefined })));
    }
    expectValid(validate(sampleSearchEventV3()));
  });

  it('bounds: 0 and 1,000,000 are valid; below and above are not', () => {
    expectValid(validate(sampleEventV3({ price: 1_000_000 })));
    expectError(validate(sampleEventV3({ price: 1_000_000.01 })), 'price', 'too_big');
    expectError(validate(sampleEventV3({ price: -0.01 })), 'price', 'too_small');
  });

  it.each(['19.99', null, true])('%j is invalid_type', (value) => {
    expectError(validate(sampleEventV3({ price: value })), 'price', 'invalid_type');
  });
});

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

describe('currency (v3)', () => {
  it('is required whenever price is present', () => {
    const error = expectError(validate(sampleEventV3({ currency: undefined })), 'currency', 'required');
    expect(error.message).toBe('currency is required when price is present');
    expectError(validate(sampleEventV3({ event_type: 'page_view', currency: undefined })), 'currency', 'required');
  });
  it('is optional without a price', () => {
    expectValid(validate(sampleEventV3({ event_type: 'wishlist', price: undefined, currency: undefined })));
  });
  it.each(['usd', 'US', 'USDX', 'U$D'])('%j is invalid_format', (value) => {
    expectError(validate(sampleEventV3({ currency: value })), 'currency', 'invalid_format');
  });
  it('v1 and v2 need none (they migrate to USD)', () => {
    expectValid(validate(sampleEventV1()));
    expectValid(validate(sampleEventV2()));
  });
});

describe('quantity (v2, v3)', () => {
  it.each([2, 3] as const)('v%i: required for add_to_cart, remove_from_cart and purchase', (version) => {
    for (const type of ['add_to_cart', 'remove_from_cart', 'purchase']) {
      expectError(validate(samples[version]({ event_type: type, quantity: undefined })), 'quantity', 'required');
    }
  });
  it('not required for wishlist or page_view', () => {
    expectValid(validate(sampleEventV3({ event_type: 'wishlist', quantity: undefined })));
    expectValid(validate(sampleEventV2({ event_type: 'page_view', quantity: undefined })));
  });
  it('v1 has no quantity and needs none', () => {
    expectValid(validate(sampleEventV1({ event_type: 'purchase' })));
  });
  it('bounds: 1 and 1000 are valid; 0 and 1001 are not; a fraction is not an integer', () => {
    expectValid(validate(sampleEventV3({ quantity: 1 })));
    expectValid(validate(sampleEventV3({ quantity: 1000 })));
    expectError(validate(sampleEventV3({ quantity: 0 })), 'quantity', 'too_small');
    expectError(validate(sampleEventV3({ quantity: 1001 })), 'quantity', 'too_big');
    expectError(validate(sampleEventV2({ quantity: 1.5 })), 'quantity', 'invalid_type');
  });
});

describe('v2 fields', () => {
  it.each(['new', 'returning', 'premium', 'inactive', 'at_risk'])('user_segment %s is valid', (segment) => {
    expectValid(validate(sampleEventV2({ user_segment: segment })));
  });
  it('an unknown user_segment is invalid_value', () => {
    expectError(validate(sampleEventV3({ user_segment: 'vip' })), 'user_segment', 'invalid_value');
  });
  it('session_id must be non-empty', () => {
    expectError(validate(sampleEventV2({ session_id: '' })), 'session_id', 'too_small');
  });
  it('category is a string', () => {
    expectError(validate(sampleEventV2({ category: 5 })), 'category', 'invalid_type');
  });
});

describe('v3 fields', () => {
  it('search requires search_query', () => {
    const error = expectError(validate(sampleSearchEventV3({ search_query: undefined })), 'search_query', 'required');
    expect(error.message).toContain('search');
  });
  it('v1 and v2 search events need no search_query', () => {
    expectValid(validate(sampleEventV1({ event_type: 'search', user_id: undefined })));
    expectValid(validate(sampleEventV2({ event_type: 'search' })));
  });
  it.each(['DE', 'US'])('geo_country %s is valid', (value) => {
    expectValid(validate(sampleEventV3({ geo_country: value })));
  });
  it.each(['de', 'DEU', 'D'])('geo_country %j is invalid_format', (value) => {
    expectError(validate(sampleEventV3({ geo_country: value })), 'geo_country', 'invalid_format');
  });
});

describe('string lengths', () => {
  const fields256 = ['product_id', 'category', 'session_id', 'device_type', 'browser', 'geo_city', 'campaign_id', 'user_id'];
  it.each(fields256)('%s: 256 characters are valid, 257 are too_big', (field) => {
    expectValid(validate(sampleEventV3({ [field]: 'x'.repeat(LIMITS.maxString) })));
    expectError(validate(sampleEventV3({ [field]: 'x'.repeat(LIMITS.maxString + 1) })), field, 'too_big');
  });
  it('search_query: 256 valid, 257 too_big', () => {
    expectValid(validate(sampleSearchEventV3({ search_query: 'q'.repeat(256) })));
    expectError(validate(sampleSearchEventV3({ search_query: 'q'.repeat(257) })), 'search_query', 'too_big');
  });
  it('referrer: 2048 valid, 2049 too_big', () => {
    expectValid(validate(sampleEventV3({ referrer: 'r'.repeat(LIMITS.maxReferrer) })));
    expectError(validate(sampleEventV3({ referrer: 'r'.repeat(LIMITS.maxReferrer + 1) })), 'referrer', 'too_big');
  });
});

describe('error reporting', () => {
  it('reports every problem of an event at once, each with path, code and message', () => {
    const result = validate({
      event_id: 'nope',
      event_type: 'purchase',
      event_time: '2026-11-22T10:00:00',
      price: 0,
      quantity: 0,
      currency: 'usd',
      colour: 'red',
    });
    const errors = errorsOf(result);
    const pairs = errors.map((e) => `${e.path}:${e.code}`).sort();
    expect(pairs).toEqual(
      [
        'colour:unknown_field',
        'currency:invalid_format',
        'event_id:invalid_format',
        'event_time:invalid_format',
        'price:too_small',
        'product_id:required',
        'quantity:too_small',
        'user_id:required',
      ].sort(),
    );
    for (const error of errors) expect(error.message.length).toBeGreaterThan(10);
    expect(result.ok === false && result.originalVersion).toBe(3);
  });

  it('a field-level error and a rule error are both reported (time window too)', () => {
    const pairs = errorsOf(
      validate(sampleEventV3({ event_time: isoOffsetFromReceipt(DAY), event_type: 'add_to_cart', price: 'x' })),
    ).map((e) => `${e.path}:${e.code}`);
    expect(pairs).toEqual(expect.arrayContaining(['event_time:in_future', 'price:invalid_type']));
  });

  it('an event over the size limit is too_large', () => {
    const result = validate(sampleEventV3({ referrer: 'r'.repeat(2000), category: 'c'.repeat(LIMITS.maxEventBytes) }));
    expectError(result, '', 'too_large');
  });

  it('every code it reports is a documented ERROR_CODES entry', () => {
    const inputs: unknown[] = [
      'x',
      sampleEventV3({ schema_version: 9 }),
      sampleEventV3({ colour: 1, price: -1, quantity: 2000, user_segment: 'x', event_id: 1, geo_country: 'x' }),
      sampleEventV3({ event_time: isoOffsetFromReceipt(-8 * DAY), event_type: 'purchase', price: 0, user_id: null }),
      sampleEventV3({ event_time: isoOffsetFromReceipt(DAY), session_id: '', category: 'c'.repeat(40_000) }),
      sampleEventV1({ user_id: 0, event_type: 'click', product_id: undefined }),
    ];
    for (const input of inputs) {
      for (const error of errorsOf(validate(input))) expect(Object.keys(ERROR_CODES)).toContain(error.code);
    }
  });

  it('never throws for hostile input', () => {
    const cyclic: Record<string, unknown> = sampleEventV3();
    cyclic.self = cyclic;
    const inputs: unknown[] = [
      cyclic,
      sampleEventV3({ price: 10n }),
      Object.assign(Object.create(null), sampleEventV3()),
      sampleEventV3({ [Symbol('s')]: 1 }),
      new Date(),
      () => 1,
    ];
    for (const input of inputs) expect(() => validate(input)).not.toThrow();
    expectError(validate(cyclic), 'self', 'unknown_field');
  });

  it('an invalid receivedAt is a caller bug and throws', () => {
    expect(() => validateEvent(sampleEventV3(), new Date('nope'))).toThrow(TypeError);
  });
});
