import { spawnSync } from 'node:child_process';

/** cfn-lint (pip's cfn-lint 1.x), or why it cannot run here. */
const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
export const noCfnLint: false | string =
  cfnLint.status === 0 ? false : 'skipped: cfn-lint is not installed (pip install cfn-lint)';

/**
 * cfn-lint findings the CDK itself causes, each with why it is accepted:
 * W3005 — CDK's bucket-notification custom resource names the queue and its policy both in
 * DependsOn and through GetAtt; the redundancy is harmless.
 */
export const ACCEPTED_CFN_LINT = ['W3005'];
