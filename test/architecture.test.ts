import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { projectRoot } from '../common/paths.js';

/** The project's source folders (which may import which is checked by ESLint: eslint.config.mjs). */
const SOURCE_FOLDERS = [
  'common',
  'model',
  'pipeline',
  'functions/worker',
  'local',
  'cli',
  'infra',
  'bench',
  'test/helpers',
  'faults',
];

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
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)].map((match) =>
    path.resolve(path.dirname(file), match[1]!.replace(/\.js$/, '.ts')),
  );
}

describe('architecture', () => {
  const files = SOURCE_FOLDERS.flatMap((folder) => sourceFiles(path.join(projectRoot, folder)));

  it('keeps the dev-model builder out of the worker’s import graph', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const imported of staticImports(file)) visit(imported);
    };
    visit(path.join(projectRoot, 'functions', 'worker', 'main.ts'));
    assert.ok(seen.has(path.join(projectRoot, 'model', 'inference-session.ts')), 'the walk follows the graph');
    assert.ok(
      !seen.has(path.join(projectRoot, 'model', 'build-alexnet-onnx.ts')),
      'build-alexnet-onnx.ts is loaded only when the dev model is built',
    );
  });

  it('keeps the CLI organised by feature: only main.ts at the top of cli/, and commands/ imported by main.ts alone (not by each other)', () => {
    const cli = path.join(projectRoot, 'cli');
    const topFiles = readdirSync(cli).filter((name) => name.endsWith('.ts'));
    assert.deepEqual(topFiles, ['main.ts']);
    const commands = path.join(cli, 'commands') + path.sep;
    const importers = files.filter(
      (file) =>
        file !== path.join(cli, 'main.ts') && staticImports(file).some((imported) => imported.startsWith(commands)),
    );
    assert.deepEqual(
      importers.map((file) => path.relative(projectRoot, file)),
      [],
    );
    const testsAndTools = [
      ...sourceFiles(path.join(projectRoot, 'test')),
      ...sourceFiles(path.join(projectRoot, 'bench')),
    ];
    assert.deepEqual(
      testsAndTools
        .filter((file) => staticImports(file).some((imported) => imported.startsWith(commands)))
        .map((file) => path.relative(projectRoot, file)),
      [],
    );
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
