// validateEvent: the samples, schema_version, non-objects, unknown fields, error count and error reporting.
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, LIMITS, eventV1Schema, eventV2Schema, eventV3Schema, validateEvent } from '../../../lambdas/shared/events';
import { sampleEventV1, sampleEventV2, sampleEventV3, sampleSearchEventV3 } from '../../fixtures/events';
import { errorsOf, expectError, expectValid } from './helpers';
import { at, validate, samples, versions, DAY, isoOffsetFromReceipt } from './validate-setup';

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
