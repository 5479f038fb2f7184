/**
 * Text that reaches an operator's terminal comes partly from callers (an unknown tool's name, an approval's
 * arguments, an error description). Control characters in it could drive the terminal: ESC and CSI sequences
 * recolour or rewrite the screen, OSC 8 plants hyperlinks, OSC 52 writes the clipboard, BEL rings. Bidirectional
 * overrides reorder what is shown (CVE-2021-42574, "Trojan Source"). Every printer in the CLI passes its text
 * through `terminalSafe`, which writes each such character as a `\uXXXX` escape: readable, and inside a JSON
 * string the same value (so JSONL stays lossless).
 *
 * Escaped: C0 controls U+0000–U+001F, DEL U+007F, C1 controls U+0080–U+009F (U+009B is a one-character CSI),
 * the bidi embeddings and overrides U+202A–U+202E and isolates U+2066–U+2069, and the line and paragraph
 * separators U+2028/U+2029.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this pattern's purpose
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this pattern's purpose
const UNSAFE_KEEPING_NEWLINES = /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\r(?!\n)/gu;

const escapeChar = (ch: string): string => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;

/**
 * `text` with every control character escaped. `keepNewlines` leaves line ends ("\n", "\r\n") alone, for multi-line
 * output the CLI composed itself; a field printed on one line must escape them too, or it could forge lines.
 */
export function terminalSafe(text: string, opts: { keepNewlines?: boolean } = {}): string {
  if (!opts.keepNewlines) return text.replace(UNSAFE, escapeChar);
  return text.replace(UNSAFE_KEEPING_NEWLINES, escapeChar);
}

/** One value for a one-line listing: anything that is not a string is shown as JSON. */
export function field(value: unknown): string {
  return terminalSafe(typeof value === "string" ? value : value === undefined || value === null ? "" : JSON.stringify(value));
}

/** console.log, escaped (newlines the CLI wrote are kept). */
export function out(text: string): void {
  process.stdout.write(`${terminalSafe(text, { keepNewlines: true })}\n`);
}

/** console.error, escaped (newlines the CLI wrote are kept). */
export function err(text: string): void {
  process.stderr.write(`${terminalSafe(text, { keepNewlines: true })}\n`);
}

/** process.stdout.write, escaped (newlines kept: JSONL and CSV records end with them). */
export function write(text: string): void {
  process.stdout.write(terminalSafe(text, { keepNewlines: true }));
}
