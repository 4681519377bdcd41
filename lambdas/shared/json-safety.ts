/**
 * Parsing JSON that comes from outside: JSON.parse alone accepts documents we must refuse.
 * It keeps `__proto__` as an own key (a prototype-pollution hazard for any later merge),
 * accepts nesting limited only by memory and decodes `\uD800`-style escapes into lone
 * surrogates that other JSON parsers and DynamoDB reject. It also turns a number too large for a
 * double (`1e999`) into Infinity, which JSON.stringify would write back as null, and a non-zero
 * number too small for one (`1e-400`) into 0: either way the event stored would not be the event
 * sent.
 */

export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export type JsonSafetyCode = 'invalid_json' | 'forbidden_key' | 'too_deep' | 'lone_surrogate' | 'number_out_of_range';

export type SafeJsonResult =
  | { ok: true; value: unknown }
  | { ok: false; code: JsonSafetyCode; message: string };

export interface JsonSafetyOptions {
  /** Containers (objects and arrays) allowed inside each other; a scalar document is depth 0. */
  maxDepth: number;
}

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/** Parses `text` and checks the whole document; the first problem found is reported. */
export function parseUntrustedJson(text: string, options: JsonSafetyOptions): SafeJsonResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, code: 'invalid_json', message: `Body is not valid JSON: ${(error as Error).message}` };
  }
  const problem = findUnsafeContent(value, options);
  if (problem) return { ok: false, ...problem };
  const underflow = findUnderflow(text);
  if (underflow !== undefined) {
    return {
      ok: false,
      code: 'number_out_of_range',
      message: `Number ${underflow.length <= 40 ? underflow : `${underflow.slice(0, 40)}…`} is too small to represent (it would read as 0)`,
    };
  }
  return { ok: true, value };
}

const isDigit = (code: number) => code >= 0x30 && code <= 0x39;

/**
 * The first number literal of a JSON text (already known to parse) that has a non-zero digit but
 * reads as 0, such as `1e-400`; string contents are skipped.
 */
export function findUnderflow(text: string): string | undefined {
  for (let i = 0; i < text.length; ) {
    const code = text.charCodeAt(i);
    if (code === 0x22) {
      // Skip a string, escapes included.
      for (i++; i < text.length; i++) {
        const inner = text.charCodeAt(i);
        if (inner === 0x5c) i++;
        else if (inner === 0x22) break;
      }
      i++;
      continue;
    }
    if (code !== 0x2d && !isDigit(code)) {
      i++;
      continue;
    }
    // A number: digits, sign, point and exponent characters up to the next delimiter.
    const start = i;
    for (i++; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (!(isDigit(c) || c === 0x2e || c === 0x2b || c === 0x2d || c === 0x65 || c === 0x45)) break;
    }
    const token = text.slice(start, i);
    const mantissa = token.split(/[eE]/, 1)[0]!;
    if (/[1-9]/.test(mantissa) && Number(token) === 0) return token;
  }
  return undefined;
}

/**
 * Walks a parsed value (keys via Object.keys, so an own `__proto__` is seen) and reports the
 * first forbidden key, excessive nesting or lone surrogate. The strings are checked after
 * parsing because that is where an escaped surrogate pair and an escaped backslash followed by
 * `uD800` finally differ; the raw text cannot tell them apart without re-lexing it.
 */
export function findUnsafeContent(
  root: unknown,
  options: JsonSafetyOptions,
): { code: Exclude<JsonSafetyCode, 'invalid_json'>; message: string } | undefined {
  // Iterative walk: the depth limit bounds the work, not the call stack.
  const pending: Array<{ value: unknown; depth: number; path: string }> = [{ value: root, depth: 0, path: '' }];
  while (pending.length > 0) {
    const { value, depth, path } = pending.pop()!;
    if (typeof value === 'string') {
      if (hasLoneSurrogate(value)) {
        return { code: 'lone_surrogate', message: `String at ${describe(path)} contains a lone UTF-16 surrogate` };
      }
      continue;
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
      return { code: 'number_out_of_range', message: `Number at ${describe(path)} is too large to represent` };
    }
    if (value === null || typeof value !== 'object') continue;
    const childDepth = depth + 1;
    if (childDepth > options.maxDepth) {
      return { code: 'too_deep', message: `JSON nesting exceeds ${options.maxDepth} levels at ${describe(path)}` };
    }
    if (Array.isArray(value)) {
      value.forEach((item, index) => pending.push({ value: item, depth: childDepth, path: join(path, String(index)) }));
      continue;
    }
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) {
        return { code: 'forbidden_key', message: `Key "${key}" is not allowed (at ${describe(join(path, key))})` };
      }
      if (hasLoneSurrogate(key)) {
        return { code: 'lone_surrogate', message: `A key at ${describe(path)} contains a lone UTF-16 surrogate` };
      }
      pending.push({ value: (value as Record<string, unknown>)[key], depth: childDepth, path: join(path, key) });
    }
  }
  return undefined;
}

function join(path: string, segment: string): string {
  return path === '' ? segment : `${path}.${segment}`;
}

function describe(path: string): string {
  return path === '' ? 'the top level' : `"${path}"`;
}
