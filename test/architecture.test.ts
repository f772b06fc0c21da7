import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { projectRoot } from '../common/paths.js';

/** The layers and what each may import (ARCHITECTURE.md's arrows); npm packages are not listed. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  common: [],
  model: ['common'],
  pipeline: ['model', 'common'],
  'functions/worker': ['pipeline', 'model', 'common'],
  local: ['functions/worker', 'pipeline', 'model', 'common'],
  cli: ['local', 'pipeline', 'model', 'common'],
  infra: ['pipeline', 'model', 'common'],
  // The benchmarks build their inputs with the tests' factories (hostile checkpoints, a real-size one).
  bench: ['cli', 'local', 'pipeline', 'model', 'common', 'test/helpers'],
  'test/helpers': ['cli', 'local', 'functions/worker', 'infra', 'pipeline', 'model', 'common'],
  faults: ['cli', 'local', 'pipeline', 'model', 'common'],
};

function layerOf(file: string): string {
  const relative = path.relative(projectRoot, file).split(path.sep).join('/');
  return Object.keys(MAY_IMPORT).find((layer) => relative.startsWith(`${layer}/`)) ?? '?';
}

function sourceFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const full = path.join(folder, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

/** The project files a source file imports statically (`import … from './x.js'`), as .ts paths. */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)].map((match) => path.resolve(path.dirname(file), match[1]!.replace(/\.js$/, '.ts')));
}

describe('architecture', () => {
  const files = Object.keys(MAY_IMPORT).flatMap((layer) => sourceFiles(path.join(projectRoot, layer)));

  it('every module imports only the layers below it (no module outside functions/worker imports the worker, except the local emulation that runs it)', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      for (const imported of staticImports(file)) {
        const to = layerOf(imported);
        if (to !== from && !MAY_IMPORT[from]!.includes(to)) violations.push(`${path.relative(projectRoot, file)} → ${path.relative(projectRoot, imported)}`);
      }
    }
    assert.deepEqual(violations, []);
  });

  it('keeps the dev-model builder out of the worker’s import graph', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const imported of staticImports(file)) visit(imported);
    };
    visit(path.join(projectRoot, 'functions', 'worker', 'main.ts'));
    assert.ok(seen.has(path.join(projectRoot, 'model', 'inference-session.ts')), 'the walk follows the graph');
    assert.ok(!seen.has(path.join(projectRoot, 'model', 'build-alexnet-onnx.ts')), 'build-alexnet-onnx.ts is loaded only when the dev model is built');
  });

  it('keeps the CLI organised by feature: only main.ts at the top of cli/, and commands/ imported by main.ts alone (not by each other)', () => {
    const cli = path.join(projectRoot, 'cli');
    const topFiles = readdirSync(cli).filter((name) => name.endsWith('.ts'));
    assert.deepEqual(topFiles, ['main.ts']);
    const commands = path.join(cli, 'commands') + path.sep;
    const importers = files.filter((file) => file !== path.join(cli, 'main.ts') && staticImports(file).some((imported) => imported.startsWith(commands)));
    assert.deepEqual(importers.map((file) => path.relative(projectRoot, file)), []);
    const testsAndTools = [...sourceFiles(path.join(projectRoot, 'test')), ...sourceFiles(path.join(projectRoot, 'bench'))];
    assert.deepEqual(testsAndTools.filter((file) => staticImports(file).some((imported) => imported.startsWith(commands))).map((file) => path.relative(projectRoot, file)), []);
  });

  it('changes no sharp settings on import; configureImageDecoding does that explicitly', async () => {
    const defaultCacheMemory = sharp.cache().memory.max;
    const model = await import('../model/index.js');
    assert.equal(sharp.cache().memory.max, defaultCacheMemory);
    assert.ok(defaultCacheMemory > 0);
    model.configureImageDecoding();
    assert.equal(sharp.cache().memory.max, 0);
    assert.equal(sharp.concurrency(), 1);
  });
});
