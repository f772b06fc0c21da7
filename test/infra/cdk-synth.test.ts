import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../common/paths.js';

describe('npx cdk synth', () => {
  it('synthesizes the stack offline from the project root, with the Docker build context kept small', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'alexnet-cdk-'));
    const run = spawnSync(process.execPath, [path.join(projectRoot, 'node_modules', 'aws-cdk', 'bin', 'cdk'), 'synth', '--quiet', '--output', out], {
      cwd: projectRoot,
      encoding: 'utf8',
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true' },
      timeout: 180_000,
    });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    const template = JSON.parse(readFileSync(path.join(out, 'AlexnetPipeline.template.json'), 'utf8'));
    assert.ok(Object.values(template.Resources).some((r: any) => r.Type === 'AWS::ECS::TaskDefinition'));
    const asset = readdirAssets(out);
    assert.ok(existsSync(path.join(asset, 'infra', 'Dockerfile')));
    for (const excluded of ['node_modules', 'dist', '.cache', 'test', '.git']) assert.ok(!existsSync(path.join(asset, excluded)), `${excluded} is kept out of the build context`);
  });
});

function readdirAssets(out: string): string {
  const manifest = JSON.parse(readFileSync(path.join(out, 'AlexnetPipeline.assets.json'), 'utf8'));
  const [image] = Object.values(manifest.dockerImages) as Array<{ source: { directory: string } }>;
  return path.join(out, image!.source.directory);
}
