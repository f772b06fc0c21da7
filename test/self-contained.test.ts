import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../common/paths.js';

/** Folders that are not the project's own text: installed packages, build output, caches, git. */
const NOT_SOURCE = new Set(['node_modules', 'dist', '.git', '.cache', 'cdk.out']);
const TEXT_FILE =
  /\.(ts|js|mjs|cjs|py|sh|json|md|html|css|yml|yaml|txt)$|^(run|Dockerfile|\.dockerignore|\.gitignore)$/;

function projectTextFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const full = path.join(folder, name);
    if (statSync(full).isDirectory()) return NOT_SOURCE.has(name) ? [] : projectTextFiles(full);
    return TEXT_FILE.test(name) ? [full] : [];
  });
}

describe('the repository is self-contained', () => {
  it('no test, script or document reads a folder beside the clone (the shared fixtures are copied in, test/fixtures/)', () => {
    // Spelt in two pieces so that this file does not find itself.
    const besideTheClone = new RegExp(['\\.\\.[\\\\/]', 'shared\\b|', "'\\.\\.',\\s*'", "shared'"].join(''));
    const files = projectTextFiles(projectRoot);
    assert.ok(
      files.some((file) => file.endsWith(path.join('test', 'helpers', 'fixtures.ts'))),
      'the walk reaches the test sources',
    );
    const hits = files.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, index) =>
          besideTheClone.test(line) ? [`${path.relative(projectRoot, file)}:${index + 1}: ${line.trim()}`] : [],
        ),
    );
    assert.deepEqual(hits, []);
  });
});
