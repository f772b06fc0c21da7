import Table from 'cli-table3';
import type { ResultDocument } from '../pipeline/result-document.js';

/** One line of a results summary. */
export interface ResultRow {
  readonly image: string;
  readonly status: string;
  readonly topLabel: string;
  readonly score: string;
  readonly device: string;
  readonly processedAt: string;
}

export function resultRow(image: string, result: ResultDocument | undefined): ResultRow {
  if (!result) return { image, status: 'pending', topLabel: '', score: '', device: '', processedAt: '' };
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
  'NOTE: these labels come from UNTRAINED weights (the dev model): they depend on the image but are not real predictions. `npx alexnet-pipeline model fetch` gets real labels (a 233 MB download).';

export function formatTable(rows: readonly ResultRow[]): string {
  const table = new Table({ head: ['image', 'status', 'top label', 'score', 'device', 'processed at'], style: { head: [], border: [], compact: true } });
  for (const row of rows) table.push([row.image, row.status, row.topLabel, row.score, row.device, row.processedAt]);
  return table.toString();
}

export function formatCsv(rows: readonly ResultRow[]): string {
  const quote = (value: string) => (/[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
  const lines = [['image', 'status', 'top_label', 'score', 'device', 'processed_at'].join(',')];
  for (const row of rows) lines.push([row.image, row.status, row.topLabel, row.score, row.device, row.processedAt].map(quote).join(','));
  return lines.join('\n');
}
