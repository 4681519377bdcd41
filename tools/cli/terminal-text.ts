/**
 * Client data (product ids, categories, currency codes, ...) shown on a terminal: control
 * characters escaped, so a value cannot move the cursor, recolour or clear the screen, and the
 * width bounded, so one long value cannot push a table off the screen.
 */

// C0 and C1 controls, DEL, line and paragraph separators, bidirectional marks, embeddings,
// overrides and isolates (they reorder what follows them), and unpaired surrogates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/gu;

/** Escapes what a terminal would act on as `\xNN` / `\uNNNN`, and a backslash as `\\`. */
export function escapeControl(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(UNSAFE, (character) => {
    const code = character.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** At most `max` characters (code points), the last one an ellipsis when something was cut. */
export function truncate(text: string, max: number): string {
  const characters = Array.from(text);
  if (characters.length <= max) return text;
  return `${characters.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** Escaped, then bounded to `max` characters. */
export function terminalText(value: unknown, max = 60): string {
  return truncate(escapeControl(String(value)), max);
}

/** Placeholder for a value that is absent. */
export const ABSENT = '-';

/**
 * An identifier from client data (an `event_id`): a string as it is, anything else as its JSON
 * (a number `42`, `null`, an object), `-` when absent; escaped and bounded like terminalText.
 */
export function idText(value: unknown, max = 60): string {
  if (value === undefined) return ABSENT;
  if (typeof value === 'string') return terminalText(value, max);
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  return terminalText(json ?? String(value), max);
}

// What JSON.stringify leaves raw although a terminal acts on it or reorders text around it: DEL,
// C1 controls (U+009B is CSI on terminals that read 8-bit controls), line and paragraph separators,
// bidirectional marks, embeddings, overrides and isolates. (It escapes C0 and lone surrogates itself.)
const JSON_RAW_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON.stringify, with the characters above written as `\uNNNN` escapes: the same JSON value
 * (JSON.parse gives back exactly the data), safe to print on a terminal. Outside strings JSON
 * text is ASCII, so every such character is inside a string, where the escape is valid.
 */
export function safeJson(value: unknown, indent?: number): string {
  const text = JSON.stringify(value, null, indent);
  if (text === undefined) return 'undefined';
  return text.replace(JSON_RAW_UNSAFE, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
