import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../common/paths.js';
import { ACCEPTED_CFN_LINT, noCfnLint } from '../helpers/cfn-lint.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';
import { crossChecksSkipped } from '../helpers/cross-checks.js';

/**
 * `npx cdk …` from the project root, offline. Without cdk.json's pre-synth build: `npm test`
 * compiled the project already, and a compile per synth was most of this file's three minutes.
 */
function cdk(args: readonly string[]) {
  return spawnSync(
    process.execPath,
    [path.join(projectRoot, 'node_modules', 'aws-cdk', 'bin', 'cdk'), '--build', 'node -e 0', ...args],
    {
      cwd: projectRoot,
      encoding: 'utf8',
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true' },
      timeout: 180_000,
    },
  );
}

describe('npx cdk synth', { skip: crossChecksSkipped }, () => {
  it(
    'synthesizes the README’s Spot example offline, with the Docker build context kept small, and cfn-lint finds nothing',
    { skip: false },
    (t) => {
      const out = temporaryFolder('alexnet-cdk-');
      const run = cdk(['synth', '--quiet', '--output', out, '-c', 'spot=true', '-c', 'maxInstances=4']);
      assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
      const templateFile = path.join(out, 'AlexnetPipeline.template.json');
      const template = JSON.parse(readFileSync(templateFile, 'utf8'));
      assert.ok(
        Object.values(template.Resources).some(
          (r: any) => r.Type === 'AWS::AutoScaling::AutoScalingGroup' && r.Properties.MixedInstancesPolicy,
        ),
      );
      const asset = readdirAssets(out);
      assert.ok(existsSync(path.join(asset, 'infra', 'Dockerfile')));
      for (const excluded of ['node_modules', 'dist', '.cache', 'test', '.git'])
        assert.ok(!existsSync(path.join(asset, excluded)), `${excluded} is kept out of the build context`);

      if (noCfnLint) return t.skip(noCfnLint);
      const lint = spawnSync('cfn-lint', ['--ignore-checks', ...ACCEPTED_CFN_LINT, '--', templateFile], {
        encoding: 'utf8',
      });
      assert.equal(lint.status, 0, `cfn-lint:\n${lint.stdout}${lint.stderr}`);
    },
  );

  it('stops on a bad context value with one line naming the key, and no stack trace', () => {
    const run = cdk(['synth', '--quiet', '-c', 'maxInstances=0']);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /error: invalid CDK context: maxInstances must be an integer from 1 to 100, got "0"/);
    assert.doesNotMatch(run.stderr, /\n\s+at \S+ \(/, 'no stack trace');
  });

  it('stops on a misspelt context key', () => {
    const run = cdk(['synth', '--quiet', '-c', 'instancetype=g5.xlarge']);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /unknown context key "instancetype" \(did you mean instanceType\?\)/);
  });
});

function readdirAssets(out: string): string {
  const manifest = JSON.parse(readFileSync(path.join(out, 'AlexnetPipeline.assets.json'), 'utf8'));
  const [image] = Object.values(manifest.dockerImages) as Array<{ source: { directory: string } }>;
  return path.join(out, image!.source.directory);
}
