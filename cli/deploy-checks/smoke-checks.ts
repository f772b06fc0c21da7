import path from 'node:path';
import { projectRoot } from '../../common/paths.js';
import { isDomesticCat } from '../../model/index.js';
import type { ResultDocument } from '../../pipeline/result-document.js';

/** The canary: the sample cat (scikit-image's chelsea, CC0). */
export const CANARY_IMAGE = path.join(projectRoot, 'samples', 'chelsea.jpg');

/** What a smoke run found wrong, or nothing. */
export function smokeProblems(result: ResultDocument, kind: 'local' | 'aws'): string[] {
  const problems: string[] = [];
  if (result.status !== 'ok')
    problems.push(`the canary got an error result: ${result.error.code}: ${result.error.message}`);
  if (kind === 'aws' && result.device !== 'cuda')
    problems.push(
      `the deployed worker ran on ${result.device}, not cuda: its GPU is not used (see the worker log group)`,
    );
  if (result.status === 'ok' && result.model.pretrained && !isDomesticCat(result.labels[0]!.index)) {
    problems.push(
      `the pretrained weights call the sample cat "${result.labels[0]!.label}", not a cat: the model (${result.model.weights}, ${result.model.sha256}) is broken`,
    );
  }
  return problems;
}
