/**
 * The checks against other tools — PyTorch's outputs, the CDK CLI's synth and cfn-lint — test what
 * those tools say of our files, not the Node.js that runs the tests: `ALEXNET_CROSS_CHECKS=skip`
 * skips them, for a second run of the suite under another Node.js by hand. (`.ci/run` runs each
 * test file once, so it runs them all.)
 */
export const crossChecksSkipped: false | string =
  process.env.ALEXNET_CROSS_CHECKS === 'skip'
    ? 'skipped: the checks against PyTorch, the CDK CLI and cfn-lint (ALEXNET_CROSS_CHECKS=skip)'
    : false;
