/**
 * Text from outside (S3 keys, error messages from results) as safe to print on a terminal: control
 * characters — an escape that clears the screen or retitles the terminal, a carriage return that
 * overwrites a line — and bidirectional overrides shown as visible escapes (`\x1b`, `\r`, `\u202e`)
 * rather than obeyed. Ordinary text, Unicode included, is unchanged.
 */
export function visibleText(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (character) => {
    const code = character.charCodeAt(0);
    if (character === '\n') return '\\n';
    if (character === '\r') return '\\r';
    if (character === '\t') return '\\t';
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** One CSV field: control characters made visible, and quoted when it holds a quote, a comma or a line break. */
export function csvField(text: string): string {
  const visible = visibleText(text);
  return /[",\n\r]/.test(visible) ? `"${visible.replace(/"/g, '""')}"` : visible;
}
