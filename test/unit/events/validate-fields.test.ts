// validateEvent, field by field: ids, event_type, event_time, user and anonymous events, product, price, currency, quantity, v2 and v3 fields, string lengths.
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, LIMITS, validateEvent } from '../../../lambdas/shared/events';
import { sampleEventV1, sampleEventV2, sampleEventV3, sampleSearchEventV3 } from '../../fixtures/events';
import { errorsOf, expectError, expectValid } from './helpers';
import { at, validate, samples, versions, MINUTE, DAY, isoOffsetFromReceipt } from './validate-setup';

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
