/**
 * Untrusted text on its way to a terminal. Run directories, profiles and command lines are user
 * input: a string from them may hold escape sequences (which clear or recolour the screen, move the
 * cursor, set the window title), other control characters, newlines (which break one-line error
 * messages), or bidirectional overrides (which make text read differently than it is stored).
 *
 * `sanitize` makes such a string safe and visible: every C0/C1 control character, DEL and the
 * bidi/zero-width format characters become a printable escape (`\x1b`, `\n`, `\u202e`), so
 * nothing is hidden and the text stays on one line. Use it for every string that came from a file
 * or a user before it is printed or rendered; numbers and our own messages need nothing.
 */

// C0 controls (incl. \t \n \r), DEL, C1 controls, and the invisible format characters that change
// how text reads: LRM/RLM/ALM, the bidi embeddings/overrides/isolates, zero-width joiners, BOM,
// line/paragraph separators.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** The string with every control/format character replaced by a visible escape; one line. */
export function sanitize(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** `sanitize`, and cut to `max` characters (with `…`) so a hostile string cannot flood a line. */
export function sanitizeShort(text: string, max = 200): string {
  const clean = sanitize(text);
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** Whether the string would be changed by `sanitize`. */
export function hasUnsafeCharacters(text: string): boolean {
  UNSAFE.lastIndex = 0;
  const found = UNSAFE.test(text);
  UNSAFE.lastIndex = 0;
  return found;
}
