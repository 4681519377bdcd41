import { describe, expect, it } from 'vitest';
import {
  eventV1Schema,
  eventV2Schema,
  eventV3Schema,
  migrateToV3,
  validateEvent,
} from '../../../lambdas/shared/events';
import { SAMPLE_RECEIVED_AT, sampleEventV1, sampleEventV2, sampleEventV3 } from '../../fixtures/events';
import { expectValid } from './helpers';

const validate = (event: unknown) => validateEvent(event, SAMPLE_RECEIVED_AT);

describe('v1 -> v3', () => {
  it('migrates the v1 sample: numeric user_id to string, quantity 1, currency USD, version 3', () => {
    const input = sampleEventV1();
    const { event, originalVersion } = expectValid(validate(input));
    expect(originalVersion).toBe(1);
    expect(event).toEqual({
      event_id: input.event_id,
      event_type: 'add_to_cart',
      event_time: input.event_time,
      user_id: '1042',
      product_id: 'SKU-1001',
      price: 19.99,
      quantity: 1,
      currency: 'USD',
      schema_version: 3,
    });
  });

  it('reads view as page_view', () => {
    const { event } = expectValid(validate(sampleEventV1({ event_type: 'view', price: undefined })));
    expect(event.event_type).toBe('page_view');
  });

  it('keeps a string user_id and an anonymous null user_id as they are', () => {
    expect(expectValid(validate(sampleEventV1({ user_id: 'u-1' }))).event.user_id).toBe('u-1');
    const anonymous = expectValid(validate(sampleEventV1({ event_type: 'view', user_id: null, price: undefined })));
    expect(anonymous.event.user_id).toBeNull();
  });

  it('adds quantity only where v2 requires it, and currency only with a price', () => {
    const view = expectValid(validate(sampleEventV1({ event_type: 'view', price: undefined, product_id: undefined })));
    expect(view.event).not.toHaveProperty('quantity');
    expect(view.event).not.toHaveProperty('currency');
    for (const type of ['add_to_cart', 'remove_from_cart', 'purchase']) {
      expect(expectValid(validate(sampleEventV1({ event_type: type }))).event.quantity).toBe(1);
    }
    const wishlist = expectValid(validate(sampleEventV1({ event_type: 'wishlist', price: undefined })));
    expect(wishlist.event).not.toHaveProperty('quantity');
  });

  it('the migrated event passes the v3 schema (except search_query, which v1 never had)', () => {
    for (const type of ['view', 'add_to_cart', 'remove_from_cart', 'wishlist', 'purchase']) {
      const { event } = expectValid(validate(sampleEventV1({ event_type: type })));
      expect(eventV3Schema.safeParse(event).success, type).toBe(true);
    }
  });
});

describe('v2 -> v3', () => {
  it('adds currency USD when a price is present and keeps every v2 field', () => {
    const input = sampleEventV2();
    const { event, originalVersion } = expectValid(validate(input));
    expect(originalVersion).toBe(2);
    expect(event).toEqual({ ...input, currency: 'USD', schema_version: 3 });
    expect(eventV3Schema.safeParse(event).success).toBe(true);
  });

  it('adds no currency without a price', () => {
    const { event } = expectValid(validate(sampleEventV2({ event_type: 'wishlist', price: undefined })));
    expect(event).not.toHaveProperty('currency');
    expect(event.schema_version).toBe(3);
  });
});

describe('v3', () => {
  it('is unchanged by migration', () => {
    const input = sampleEventV3();
    expect(expectValid(validate(input)).event).toEqual(input);
  });

  it('gets schema_version 3 when it came without one', () => {
    const input = sampleEventV3({ schema_version: undefined });
    expect(expectValid(validate(input)).event).toEqual({ ...input, schema_version: 3 });
  });
});

describe('migrateToV3 called directly', () => {
  it('migrates a parsed v1 event step by step', () => {
    const v1 = eventV1Schema.parse(sampleEventV1({ event_type: 'purchase', user_id: 9 }));
    const migrated = migrateToV3(v1, 1);
    expect(migrated).toMatchObject({ event_type: 'purchase', user_id: '9', quantity: 1, currency: 'USD', schema_version: 3 });
  });

  it('does not overwrite what a v2 event already has', () => {
    const v2 = eventV2Schema.parse(sampleEventV2({ quantity: 4 }));
    expect(migrateToV3(v2, 2).quantity).toBe(4);
  });

  it('does not mutate its input', () => {
    const v1 = eventV1Schema.parse(sampleEventV1({ event_type: 'view', price: undefined }));
    const copy = structuredClone(v1);
    migrateToV3(v1, 1);
    expect(v1).toEqual(copy);
  });
});
