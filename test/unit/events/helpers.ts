import { expect } from 'vitest';
import type { FieldError, ValidationResult } from '../../../lambdas/shared/events';

export function errorsOf(result: ValidationResult): FieldError[] {
  if (result.ok) throw new Error(`expected the event to be invalid, it was valid: ${JSON.stringify(result.event)}`);
  return result.errors;
}

/** Asserts the result is invalid and lists an error at `path` with `code`; returns that error. */
export function expectError(result: ValidationResult, path: string, code: string): FieldError {
  const errors = errorsOf(result);
  const match = errors.find((error) => error.path === path && error.code === code);
  expect(match, `expected ${code} at "${path}", got ${JSON.stringify(errors)}`).toBeDefined();
  return match!;
}

export function expectValid(result: ValidationResult): Extract<ValidationResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected the event to be valid, got ${JSON.stringify(result.errors)}`);
  return result;
}
