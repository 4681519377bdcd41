// The rule text that error messages and docs/events.md show is checked against the schema itself:
// each limit the text states is probed on the field's zod schema (the value at the limit passes,
// one past it fails), and the docs' "must be" column states the same limits.
import { readFileSync } from 'node:fs';
import type * as z from 'zod';
import { describe, expect, it } from 'vitest';
import { FIELD_RULES, FIELD_RULES_V1 } from '../../../lambdas/shared/events';
import { v1Shape, v3Shape } from '../../../lambdas/shared/events/schemas';

const doc = readFileSync(new URL('../../../docs/events.md', import.meta.url), 'utf8');
const passes = (schema: z.ZodType, value: unknown) => schema.safeParse(value).success;
const num = (text: string) => Number(text.replaceAll(',', ''));

interface Stated {
  maxLength?: number;
  nonEmpty: boolean;
  range?: [number, number];
  decimals?: number;
  integer: boolean;
  oneOf?: string[];
}

/** What a rule's wording states. Rule text: "a non-empty string of at most 256 characters"; docs: "non-empty string ≤ 256". */
function stated(text: string): Stated {
  const maxLength = /at most ([\d,]+) characters|string ≤ ([\d,]+)/.exec(text);
  const range = /from ([\d,.]+) to ([\d,.]+)|(?:number|integer) ([\d,.]+) to ([\d,.]+)/.exec(text);
  const decimals = /at most (\d+) decimal places/.exec(text);
  const oneOf = /^(?:one of )?([a-z_]+(?:, [a-z_]+)+)/.exec(text);
  return {
    maxLength: maxLength ? num(maxLength[1] ?? maxLength[2]!) : undefined,
    nonEmpty: /non-empty/.test(text),
    range: range ? [num(range[1] ?? range[3]!), num(range[2] ?? range[4]!)] : undefined,
    decimals: decimals ? Number(decimals[1]) : undefined,
    integer: /integer/.test(text),
    oneOf: oneOf ? oneOf[1]!.split(', ') : undefined,
  };
}

function checkAgainstSchema(field: string, schema: z.ZodType, rule: Stated): void {
  if (rule.maxLength !== undefined) {
    expect(passes(schema, 'x'.repeat(rule.maxLength)), `${field}: ${rule.maxLength} characters`).toBe(true);
    expect(passes(schema, 'x'.repeat(rule.maxLength + 1)), `${field}: ${rule.maxLength + 1} characters`).toBe(false);
    expect(passes(schema, ''), `${field}: empty`).toBe(!rule.nonEmpty);
  }
  if (rule.range) {
    const [min, max] = rule.range;
    const step = rule.integer ? 1 : 10 ** -(rule.decimals ?? 0);
    expect(passes(schema, min), `${field}: ${min}`).toBe(true);
    expect(passes(schema, max), `${field}: ${max}`).toBe(true);
    expect(passes(schema, min - step), `${field}: below ${min}`).toBe(false);
    expect(passes(schema, max + step), `${field}: above ${max}`).toBe(false);
    if (rule.integer) expect(passes(schema, min + 0.5), `${field}: a fraction`).toBe(false);
  }
  if (rule.decimals !== undefined) {
    expect(passes(schema, 1 + 10 ** -rule.decimals), `${field}: ${rule.decimals} decimals`).toBe(true);
    expect(passes(schema, Number(`1.${'0'.repeat(rule.decimals)}1`)), `${field}: ${rule.decimals + 1} decimals`).toBe(false);
  }
  if (rule.oneOf) {
    for (const value of rule.oneOf) expect(passes(schema, value), `${field}: ${value}`).toBe(true);
    expect(passes(schema, 'not_a_listed_value'), `${field}: unlisted`).toBe(false);
  }
}

describe('FIELD_RULES states what the schema enforces', () => {
  const shape = v3Shape as Record<string, z.ZodType>;
  it.each(Object.keys(FIELD_RULES).filter((field) => field !== 'schema_version'))('%s', (field) => {
    const rule = stated(FIELD_RULES[field]!);
    checkAgainstSchema(field, shape[field]!, rule);
  });

  it.each(Object.keys(FIELD_RULES_V1))('%s in v1', (field) => {
    const rule = stated(FIELD_RULES_V1[field]!);
    checkAgainstSchema(field, (v1Shape as Record<string, z.ZodType>)[field]!, rule);
    if (field === 'user_id') expect(passes(v1Shape.user_id, 42), 'a positive integer').toBe(true);
  });

  it('states a limit for every length-, range- or value-limited field', () => {
    const unlimited = Object.entries(FIELD_RULES).filter(([, text]) => {
      const rule = stated(text);
      return rule.maxLength === undefined && !rule.range && !rule.oneOf && !/UUID|ISO|1, 2 or 3/.test(text);
    });
    expect(unlimited).toEqual([]);
  });
});

describe('docs/events.md states the same limits as FIELD_RULES', () => {
  const section = doc.split('## Versions and fields')[1]?.split('\n## ')[0] ?? '';
  const rows = section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
  const mustBe = new Map(rows.map((row) => [row[0]!, row[4]!]));

  it.each(Object.keys(FIELD_RULES))('%s', (field) => {
    const fromCode = stated(FIELD_RULES[field]!);
    const fromDocs = stated(mustBe.get(field) ?? '');
    expect({ maxLength: fromDocs.maxLength, nonEmpty: fromDocs.nonEmpty, range: fromDocs.range, decimals: fromDocs.decimals }).toEqual({
      maxLength: fromCode.maxLength,
      nonEmpty: fromCode.nonEmpty,
      range: fromCode.range,
      decimals: fromCode.decimals,
    });
    if (fromCode.oneOf) expect(fromDocs.oneOf ?? []).toEqual(expect.arrayContaining(fromCode.oneOf));
  });
});
