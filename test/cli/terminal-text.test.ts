import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatCsv, formatTable, resultRow } from '../../cli/results/result-format.js';
import { csvField, visibleText } from '../../cli/support/terminal-text.js';

describe('text from S3 on a terminal', () => {
  it('shows control characters and bidirectional overrides instead of obeying them', () => {
    assert.equal(visibleText('uploads/\x1b[2Jclear.jpg'), 'uploads/\\x1b[2Jclear.jpg');
    assert.equal(visibleText('\x1b]0;pwned\x07title.jpg'), '\\x1b]0;pwned\\x07title.jpg');
    assert.equal(visibleText('a\rb\nc\td\u202egpj.exe'), 'a\\rb\\nc\\td\\u202egpj.exe');
    assert.equal(visibleText('café 猫 (1).jpg'), 'café 猫 (1).jpg', 'ordinary Unicode is kept');
  });

  it('quotes CSV fields as RFC 4180 says, with control characters shown', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('x\x1b[2Jy'), 'x\\x1b[2Jy');
  });

  it('keeps escapes out of tables and CSV built from result rows', () => {
    const rows = [resultRow('uploads/\x1b[2J\x1b]0;owned\x07.jpg', undefined)];
    for (const text of [formatTable(rows), formatCsv(rows)])
      assert.ok(!/[\x00-\x08\x0b-\x1f\x7f]/.test(text.replace(/\n/g, '')), JSON.stringify(text));
  });
});
