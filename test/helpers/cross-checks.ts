/**
 * `.ci/run` runs the suite under two Node.js versions. The checks against other tools — PyTorch's
 * outputs, the CDK CLI's synth and cfn-lint — test what those tools say of our files, not the
 * Node.js that runs the tests, so its second pass sets `ALEXNET_CROSS_CHECKS=skip` and they run once.
 */
export const crossChecksSkipped: false | string =
  process.env.ALEXNET_CROSS_CHECKS === 'skip'
    ? 'skipped: the checks against PyTorch, the CDK CLI and cfn-lint run in the first pass of .ci/run (ALEXNET_CROSS_CHECKS=skip)'
    : false;
