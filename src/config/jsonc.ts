/**
 * JSON with comments (`//` to the end of the line, `/* … *\/`), as editors call JSONC: the comments are
 * blanked out (a line break stays a line break) so a JSON.parse error still points at the right place.
 * Trailing commas stay an error, as in JSON.
 */
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  let copiedTo = 0;
  const blank = (from: number, to: number) => text.slice(from, to).replace(/[^\r\n]/g, ' ');
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      // Skip a string, escapes included: `//` inside one is not a comment.
      i++;
      while (i < text.length && text[i] !== '"' && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
      i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      let end = text.indexOf('\n', i);
      if (end < 0) end = text.length;
      out += text.slice(copiedTo, i) + blank(i, end);
      i = copiedTo = end;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      const end = close < 0 ? text.length : close + 2;
      out += text.slice(copiedTo, i) + blank(i, end);
      i = copiedTo = end;
      continue;
    }
    i++;
  }
  return out + text.slice(copiedTo);
}
