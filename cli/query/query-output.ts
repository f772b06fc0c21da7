import Table from 'cli-table3';
import { csvField, visibleText } from '../support/terminal-text.js';
import type { QueryFormat, QueryTable } from './query-table.js';

/** A value as one cell of text: NULL empty, lists and structs as JSON. */
function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * A query's answer in the chosen format: `json` an array of row objects, `csv` a header line and
 * RFC 4180 fields, `table` for a terminal. Text from results (keys, messages) is shown, not
 * obeyed, in table and CSV; JSON escapes it anyway.
 */
export function formatQueryTable(table: QueryTable, format: QueryFormat): string {
  if (format === 'json') return JSON.stringify(table.rows, null, 2);
  if (format === 'csv') {
    const lines = [table.columns.map(csvField).join(',')];
    for (const row of table.rows) lines.push(table.columns.map((column) => csvField(cellText(row[column]))).join(','));
    return lines.join('\n');
  }
  const output = new Table({ head: table.columns.map(visibleText), style: { head: [], border: [], compact: true } });
  for (const row of table.rows) output.push(table.columns.map((column) => visibleText(cellText(row[column]))));
  return `${output.toString()}\n(${table.rows.length} ${table.rows.length === 1 ? 'row' : 'rows'})`;
}
