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
