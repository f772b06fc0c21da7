import { ConfigurationError } from '../common/errors.js';
import { isBucketName } from './bucket-names.js';
import { keyLayoutProblems } from './object-keys.js';
import { WORKER_SETTINGS } from './worker-settings.js';
import { DEFAULT_SPOT_INSTANCE_TYPES, instanceTypeProblem } from './gpu-runtime.js';

/** The deploy-time parameters, read from CDK context (`cdk deploy -c instanceType=g5.xlarge`). */
export interface PipelineParameters {
  /** GPU instance type (on-demand). Default: `g4dn.xlarge` (one NVIDIA T4, 4 vCPUs). */
  readonly instanceType: string;
  /** Most GPU instances (and worker tasks) at once. Default: 2. */
  readonly maxInstances: number;
  /** Run on Spot instances (cheaper, may be reclaimed with two minutes' notice; messages then come back). Default: false. */
  readonly spot: boolean;
  /** With Spot: the instance types the group may launch, one GPU each. Default: `g4dn.xlarge,g5.xlarge,g6.xlarge`. */
  readonly spotInstanceTypes: readonly string[];
  /** Images per GPU batch (`MAX_BATCH`). Default: 32. */
  readonly batchSize: number;
  /** Key prefix that triggers the pipeline. Default: `uploads/`. */
  readonly uploadsPrefix: string;
  /** Key prefix results are written under; never triggers the pipeline. Default: `results/`. */
  readonly resultsPrefix: string;
  /** Receives before a message goes to the DLQ. Default: 3. */
  readonly maxReceiveCount: number;
  /** Hard memory limit of the worker container, MiB. Default: 8192 (a g4dn.xlarge has 16 GiB). */
  readonly taskMemoryMiB: number;
  /** Worker log retention, days. Default: 30. */
  readonly logRetentionDays: number;
  /** Alarm when the oldest message is older than this, minutes. Default: 30. */
  readonly oldestMessageAlarmMinutes: number;
  /** E-mail address subscribed to the alarm topic. Default: none. */
  readonly alarmEmail?: string;
  /** Most data one Athena query of the results may scan, GB (the workgroup's limit). Default: 10. */
  readonly queryScanLimitGb: number;
  /** E-mail address told of every error result. Default: none. */
  readonly notifyErrorsEmail?: string;
  /** An SNS topic (ARN) told of every error result; its policy must let EventBridge publish. Default: none. */
  readonly notifyErrorsTopicArn?: string;
  /**
   * The two (or more) Availability Zones of the stack's VPC, where the GPU instances launch. Default:
   * none — the region's first two, as CloudFormation's Fn::GetAZs lists them. `doctor` says which
   * offer the instance types, and what to pass when the default ones do not.
   */
  readonly availabilityZones?: readonly string[];
  /**
   * Other buckets whose images `submit` may name (`-c sourceBuckets=my-archive,other`): the task role
   * may read their objects, nothing else about them changes (no notification, no policy). Default: none.
   */
  readonly sourceBuckets: readonly string[];
  /** KMS keys (ARNs) the objects of `sourceBuckets` are encrypted with: the task role may decrypt with them. Default: none. */
  readonly sourceBucketKeys: readonly string[];
}

export const PARAMETER_DEFAULTS: PipelineParameters = {
  instanceType: 'g4dn.xlarge',
  maxInstances: 2,
  spot: false,
  spotInstanceTypes: DEFAULT_SPOT_INSTANCE_TYPES,
  batchSize: WORKER_SETTINGS.maxBatch.default,
  uploadsPrefix: WORKER_SETTINGS.uploadsPrefix.default,
  resultsPrefix: WORKER_SETTINGS.resultsPrefix.default,
  maxReceiveCount: 3,
  taskMemoryMiB: 8192,
  logRetentionDays: 30,
  oldestMessageAlarmMinutes: 30,
  queryScanLimitGb: 10,
  sourceBuckets: [],
  sourceBucketKeys: [],
};

/** The context keys this app reads: anything else a user passes is a typo and stops synth. */
export const PARAMETER_KEYS: readonly (keyof PipelineParameters)[] = [
  'instanceType',
  'maxInstances',
  'spot',
  'spotInstanceTypes',
  'batchSize',
  'uploadsPrefix',
  'resultsPrefix',
  'maxReceiveCount',
  'taskMemoryMiB',
  'logRetentionDays',
  'oldestMessageAlarmMinutes',
  'alarmEmail',
  'queryScanLimitGb',
  'notifyErrorsEmail',
  'notifyErrorsTopicArn',
  'availabilityZones',
  'sourceBuckets',
  'sourceBucketKeys',
];

/** How many Availability Zones the VPC spans (without `availabilityZones`, the region's first ones). */
export const VPC_AVAILABILITY_ZONES = 2;

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
/** An Availability Zone name: its region and a letter (`eu-west-1a`, `us-gov-west-1b`). */
const AVAILABILITY_ZONE = /^[a-z]{2}(-[a-z]+)+-\d+[a-z]$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]{1,128}$/;

/** CloudWatch Logs accepts only these retention periods. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** Context that belongs to the CDK itself (feature flags, the CLI's own keys), not to this app. */
function isCdkOwnKey(key: string): boolean {
  return (
    key.startsWith('@aws-cdk') ||
    key.startsWith('aws:cdk:') ||
    key.startsWith('aws-cdk:') ||
    key.startsWith('cdk-') ||
    key === 'acknowledged-issue-numbers' ||
    key.includes(':')
  );
}

/**
 * Reads and validates the parameters. `context` is what `node.tryGetContext` returns for each
 * name (strings from the command line, or values from cdk.json); `givenKeys` are all context keys
 * (`node.getAllContext()`), so that a misspelt one is refused rather than ignored. Every problem is
 * reported at once, naming the context key and what it accepts; a {@link ConfigurationError} stops synth.
 */
export function readPipelineParameters(
  context: (key: string) => unknown,
  givenKeys: readonly string[] = [],
): PipelineParameters {
  const problems: string[] = unknownKeyProblems(givenKeys);
  const { text, integer, flag, list } = contextReaders(context, problems);
  const parameters: PipelineParameters = {
    instanceType: text('instanceType', PARAMETER_DEFAULTS.instanceType),
    maxInstances: integer('maxInstances', PARAMETER_DEFAULTS.maxInstances, 1, 100),
    spot: flag('spot', PARAMETER_DEFAULTS.spot),
    spotInstanceTypes: list('spotInstanceTypes', PARAMETER_DEFAULTS.spotInstanceTypes),
    batchSize: integer('batchSize', PARAMETER_DEFAULTS.batchSize, 1, 256),
    uploadsPrefix: text('uploadsPrefix', PARAMETER_DEFAULTS.uploadsPrefix),
    resultsPrefix: text('resultsPrefix', PARAMETER_DEFAULTS.resultsPrefix),
    maxReceiveCount: integer('maxReceiveCount', PARAMETER_DEFAULTS.maxReceiveCount, 1, 1000),
    taskMemoryMiB: integer('taskMemoryMiB', PARAMETER_DEFAULTS.taskMemoryMiB, 4096, 1_048_576),
    logRetentionDays: integer('logRetentionDays', PARAMETER_DEFAULTS.logRetentionDays, 1, 3653),
    oldestMessageAlarmMinutes: integer(
      'oldestMessageAlarmMinutes',
      PARAMETER_DEFAULTS.oldestMessageAlarmMinutes,
      1,
      20_160,
    ),
    ...(context('alarmEmail') === undefined ? {} : { alarmEmail: String(context('alarmEmail')) }),
    queryScanLimitGb: integer('queryScanLimitGb', PARAMETER_DEFAULTS.queryScanLimitGb, 1, 100_000),
    ...(context('notifyErrorsEmail') === undefined ? {} : { notifyErrorsEmail: String(context('notifyErrorsEmail')) }),
    ...(context('notifyErrorsTopicArn') === undefined
      ? {}
      : { notifyErrorsTopicArn: String(context('notifyErrorsTopicArn')) }),
    ...(context('availabilityZones') === undefined ? {} : { availabilityZones: list('availabilityZones', []) }),
    sourceBuckets: list('sourceBuckets', PARAMETER_DEFAULTS.sourceBuckets),
    sourceBucketKeys: list('sourceBucketKeys', PARAMETER_DEFAULTS.sourceBucketKeys),
  };

  problems.push(...parameterProblems(parameters));
  if (problems.length > 0)
    throw new ConfigurationError(`invalid CDK context: ${problems.join('; ')}`, { keys: problems.length });
  return parameters;
}

/** Context keys that are neither CDK's own nor the pipeline's: a misspelt key is refused, with the nearest known one. */
function unknownKeyProblems(givenKeys: readonly string[]): string[] {
  const problems: string[] = [];
  for (const key of givenKeys) {
    if (!isCdkOwnKey(key) && !(PARAMETER_KEYS as readonly string[]).includes(key)) {
      const near = PARAMETER_KEYS.find(
        (known) =>
          known.toLowerCase() === key.toLowerCase() || known.toLowerCase().startsWith(key.toLowerCase().slice(0, 5)),
      );
      problems.push(
        `unknown context key "${key}"${near ? ` (did you mean ${near}?)` : ''}; the keys are ${PARAMETER_KEYS.join(', ')}`,
      );
    }
  }
  return problems;
}

/** Readers of one context value each, by kind; what cannot be read is added to `problems` (and its fallback used). */
function contextReaders(context: (key: string) => unknown, problems: string[]) {
  return {
    text: (key: keyof PipelineParameters, fallback: string) => {
      const value = context(key);
      return value === undefined ? fallback : String(value);
    },
    integer: (key: keyof PipelineParameters, fallback: number, min: number, max: number) => {
      const value = context(key);
      if (value === undefined) return fallback;
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed < min || parsed > max)
        problems.push(`${key} must be an integer from ${min} to ${max}, got "${String(value)}"`);
      return parsed;
    },
    flag: (key: keyof PipelineParameters, fallback: boolean) => {
      const value = context(key);
      if (value === undefined) return fallback;
      if (value === true || value === 'true') return true;
      if (value === false || value === 'false') return false;
      problems.push(`${key} must be true or false, got "${String(value)}"`);
      return fallback;
    },
    list: (key: keyof PipelineParameters, fallback: readonly string[]) => {
      const value = context(key);
      if (value === undefined) return fallback;
      return (Array.isArray(value) ? value.map(String) : String(value).split(','))
        .map((item) => item.trim())
        .filter((item) => item.length > 0);
    },
  };
}

/** What is wrong across the parameters read: instance types, zones, key layout, log retention, addresses. */
function parameterProblems(parameters: PipelineParameters): string[] {
  const problems: string[] = [];
  if (parameters.spotInstanceTypes.length === 0)
    problems.push('spotInstanceTypes must list at least one instance type, e.g. g4dn.xlarge,g5.xlarge');
  if (parameters.availabilityZones) {
    const zones = parameters.availabilityZones;
    if (
      zones.length < VPC_AVAILABILITY_ZONES ||
      new Set(zones).size !== zones.length ||
      !zones.every((zone) => AVAILABILITY_ZONE.test(zone))
    ) {
      problems.push(
        `availabilityZones must list ${VPC_AVAILABILITY_ZONES} or more different Availability Zones of the region, e.g. eu-west-1a,eu-west-1b, got "${zones.join(',')}"`,
      );
    }
  }

  const typeProblem = instanceTypeProblem(parameters.instanceType);
  if (typeProblem) problems.push(`instanceType ${typeProblem}`);
  for (const type of parameters.spotInstanceTypes) {
    const problem = instanceTypeProblem(type);
    if (problem) problems.push(`spotInstanceTypes ${problem}`);
  }
  for (const problem of keyLayoutProblems(parameters)) problems.push(`${problem.field} ${problem.message}`);
  if (!LOG_RETENTION_DAYS.includes(parameters.logRetentionDays))
    problems.push(
      `logRetentionDays must be one of ${LOG_RETENTION_DAYS.join(', ')}, got ${parameters.logRetentionDays}`,
    );
  for (const key of ['alarmEmail', 'notifyErrorsEmail'] as const) {
    const address = parameters[key];
    if (address !== undefined && !EMAIL.test(address))
      problems.push(`${key} must be an e-mail address, got "${address}"`);
  }
  for (const bucket of parameters.sourceBuckets) {
    if (!isBucketName(bucket))
      problems.push(`sourceBuckets must list bucket names (3 to 63 of a-z 0-9 . -), got "${bucket}"`);
  }
  if (new Set(parameters.sourceBuckets).size !== parameters.sourceBuckets.length)
    problems.push(`sourceBuckets names a bucket twice: "${parameters.sourceBuckets.join(',')}"`);
  for (const key of parameters.sourceBucketKeys) {
    if (!KMS_KEY_ARN.test(key))
      problems.push(`sourceBucketKeys must list KMS key ARNs (arn:aws:kms:<region>:<account>:key/<id>), got "${key}"`);
  }
  if (parameters.sourceBucketKeys.length > 0 && parameters.sourceBuckets.length === 0)
    problems.push('sourceBucketKeys is for the objects of sourceBuckets, and no sourceBuckets are given');
  if (parameters.notifyErrorsTopicArn !== undefined && !SNS_TOPIC_ARN.test(parameters.notifyErrorsTopicArn)) {
    problems.push(
      `notifyErrorsTopicArn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), got "${parameters.notifyErrorsTopicArn}"`,
    );
  }
  return problems;
}
