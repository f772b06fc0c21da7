#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { isDomesticCat } from '../model/index.js';

/**
 * Image build check: reads the `classify` line of the sample cat (chelsea.jpg) from stdin and
 * fails unless the model is marked pretrained and calls it a cat — so an image with broken
 * weights never reaches a registry.
 */
const line = readFileSync(0, 'utf8').trim().split('\n').at(-1) ?? '';
const result = JSON.parse(line || '{}') as {
  status?: string;
  labels?: Array<{ index: number; label: string; score: number }>;
  model?: { pretrained?: boolean; sha256?: string };
};
const top = result.labels?.[0];
if (result.status !== 'ok' || !result.model?.pretrained || !top || !isDomesticCat(top.index)) {
  process.stderr.write(`model check failed: the sample cat got ${JSON.stringify(result)}\n`);
  process.exit(1);
}
process.stdout.write(
  `model check passed: the sample cat is a ${top.label} (${top.score.toFixed(3)}), model ${result.model.sha256}\n`,
);
