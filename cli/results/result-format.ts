import Table from 'cli-table3';
import type { ResultDocument } from '../../pipeline/result-document.js';
import { csvField, visibleText } from '../support/terminal-text.js';

/** One line of a results summary. */
export interface ResultRow {
  readonly image: string;
  readonly status: string;
  readonly topLabel: string;
  readonly score: string;
  readonly device: string;
  readonly processedAt: string;
}

/** A stored result as read back: the document, none yet, or an object that is not a result. */
export type ReadBack = ResultDocument | undefined | { readonly unreadable: string };

export function resultRow(image: string, result: ReadBack): ResultRow {
  if (!result) return { image, status: 'pending', topLabel: '', score: '', device: '', processedAt: '' };
  if ('unreadable' in result)
    return { image, status: 'unreadable', topLabel: result.unreadable, score: '', device: '', processedAt: '' };
  const top = result.status === 'ok' ? result.labels[0] : undefined;
  return {
    image,
    status: result.status === 'ok' ? 'ok' : `error ${result.error.code}`,
    topLabel: top?.label ?? '',
    score: top ? top.score.toFixed(3) : '',
    device: result.device,
    processedAt: result.processedAt,
  };
}

/** The line every labelled output carries when the weights are not pretrained. */
export const UNTRAINED_NOTICE =
  'NOTE: these labels come from UNTRAINED weights (the dev model, or weights not marked pretrained): they depend on the image but are not real predictions. With a network a run fetches the real weights once (233 MB); `npx alexnet-pipeline model fetch` does it now, `npx alexnet-pipeline model status` says which model runs.';

const COLUMNS = ['image', 'status', 'top label', 'score', 'device', 'processed at'];

/** A table for a terminal; every cell's control characters are shown, not obeyed. */
export function formatTable(rows: readonly ResultRow[]): string {
  const table = new Table({ head: COLUMNS, style: { head: [], border: [], compact: true } });
  for (const row of rows)
    table.push([row.image, row.status, row.topLabel, row.score, row.device, row.processedAt].map(visibleText));
  return table.toString();
}

/** CSV with a header line; fields quoted as RFC 4180 says, control characters shown. */
export function formatCsv(rows: readonly ResultRow[]): string {
  const lines = [COLUMNS.map((column) => column.replace(' ', '_')).join(',')];
  for (const row of rows)
    lines.push([row.image, row.status, row.topLabel, row.score, row.device, row.processedAt].map(csvField).join(','));
  return lines.join('\n');
}
