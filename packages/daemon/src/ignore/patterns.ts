/**
 * Line-level handling of gitignore text, before it reaches the `ignore`
 * package. Pure.
 */

const BOM = '\uFEFF';
const LINE_BREAK = /\r?\n/;
const BACKSLASH = '\\';
const SPACE = ' ';
const SLASH = '/';

/** The pattern lines of an ignore file: BOM dropped, split on LF or CRLF. */
export function splitPatternLines(text: string): string[] {
  const body = text.startsWith(BOM) ? text.slice(BOM.length) : text;
  return body.split(LINE_BREAK);
}

/** True when the character at `index` is preceded by an odd run of backslashes. */
function isEscaped(line: string, index: number): boolean {
  let run = 0;
  for (let i = index - 1; i >= 0 && line[i] === BACKSLASH; i--) run++;
  return run % 2 === 1;
}

/** Drops trailing spaces that are not escaped with a backslash, as git does. */
function trimUnescapedSpaces(line: string): string {
  let end = line.length;
  while (end > 0 && line[end - 1] === SPACE && !isEscaped(line, end - 1)) end--;
  return line.slice(0, end);
}

/**
 * The same rule for a path known to be a directory, with the directory-only
 * marker removed: `target/` becomes `target`. A trailing slash never counts
 * for anchoring in git (only a leading or inner one does), so removing it
 * changes nothing else about the pattern. Comments, blank lines and a lone
 * `/` pass through unchanged.
 */
export function asDirectoryPattern(line: string): string {
  if (line.startsWith('#')) return line;
  const trimmed = trimUnescapedSpaces(line);
  const bodyStart = trimmed.startsWith('!') ? 1 : 0;
  if (trimmed.length - bodyStart > 1 && trimmed.endsWith(SLASH)) return trimmed.slice(0, -1);
  return line;
}
