import { z } from 'zod';
import type { AwsTimeouts } from '../../common/aws-clients.js';
import { ConfigurationError } from '../../common/errors.js';
import { keyLayoutProblems } from '../../pipeline/object-keys.js';
import type { SourceLayout } from '../../pipeline/result-location.js';
import { LONG_POLL_MARGIN_SECONDS } from '../../pipeline/worker-environment.js';
import {
  WORKER_ENVIRONMENT as ENV,
  WORKER_SETTINGS,
  workerSettingDefault,
  type WorkerSetting,
  type WorkerSettingName,
  type WorkerSettingOverrides,
  type WorkerSettings,
} from '../../pipeline/worker-settings.js';

/** The worker's settings, with defaults applied: one field per row of `WORKER_SETTINGS`. */
export type WorkerConfig = WorkerSettings;

/** How an environment variable's text becomes a setting's value, and what a value must be. */
function schemaFor(setting: WorkerSetting, fromText: boolean): z.ZodType<unknown> {
  switch (setting.type) {
    case 'integer': {
      const range = z
        .number()
        .int()
        .min(setting.min, `must be at least ${setting.min}`)
        .max(setting.max, `must be at most ${setting.max}`);
      if (!fromText)
        return z.number({ error: `must be a whole number from ${setting.min} to ${setting.max}` }).pipe(range);
      return z
        .string()
        .trim()
        .regex(/^\d+$/, `must be a whole number from ${setting.min} to ${setting.max}`)
        .transform(Number)
        .pipe(range);
    }
    case 'choice':
      return z.enum(setting.choices as [string, ...string[]], {
        error: `must be one of ${setting.choices.join(', ')}`,
      });
    case 'url':
      return z.string().trim().url('must be a URL');
    case 'text': {
      const text = z.string().trim();
      return setting.pattern ? text.regex(setting.pattern, setting.patternProblem) : text;
    }
  }
}

/** Problems across settings, each naming the variable to change. */
function crossSettingProblems(config: WorkerConfig): Array<{ variable: string; message: string }> {
  const problems: Array<{ variable: string; message: string }> = [];
  if (config.heartbeatIntervalSeconds >= config.visibilityTimeoutSeconds) {
    problems.push({
      variable: ENV.heartbeatIntervalSeconds,
      message: `must be shorter than ${ENV.visibilityTimeoutSeconds} (${config.visibilityTimeoutSeconds} s), or messages reappear while they are worked on`,
    });
  }
  for (const problem of keyLayoutProblems({
    uploadsPrefix: config.uploadsPrefix,
    resultsPrefix: config.resultsPrefix,
  })) {
    problems.push({ variable: ENV[problem.field], message: problem.message });
  }
  const maxImageMiB = config.maxImageBytes / 2 ** 20;
  if (maxImageMiB > config.imageMemoryMiB / 2) {
    problems.push({
      variable: ENV.imageMemoryMiB,
      message: `must be at least twice ${ENV.maxImageBytes} (${Math.ceil(maxImageMiB)} MiB): half of it holds downloads, which must fit the largest upload`,
    });
  }
  return problems;
}

/**
 * The worker's configuration: typed `overrides` (in-process callers: `local`, the benchmark,
 * tests) over the environment's variables over the defaults, every value checked against its
 * row of `WORKER_SETTINGS`. A missing or bad value stops start-up with a {@link ConfigurationError}
 * whose message names every offending variable.
 */
export function resolveWorkerConfig(
  overrides: WorkerSettingOverrides = {},
  environment: NodeJS.ProcessEnv = {},
): WorkerConfig {
  const values: Record<string, unknown> = {};
  const problems: Array<{ variable: string; message: string }> = [];
  for (const [name, setting] of Object.entries(WORKER_SETTINGS) as Array<[WorkerSettingName, WorkerSetting]>) {
    const override = overrides[name];
    // An empty variable (`BUCKET_NAME=`, as task definitions and shells leave them) counts as unset.
    const text = environment[setting.variable];
    const given =
      override !== undefined
        ? { value: override, fromText: false }
        : text !== undefined && text.trim() !== ''
          ? { value: text, fromText: true }
          : undefined;
    if (!given) {
      if ('required' in setting && setting.required)
        problems.push({ variable: setting.variable, message: setting.requiredProblem ?? 'is required' });
      values[name] = workerSettingDefault(name);
      continue;
    }
    const parsed = schemaFor(setting, given.fromText).safeParse(given.value);
    if (parsed.success) values[name] = parsed.data;
    else problems.push(...parsed.error.issues.map((issue) => ({ variable: setting.variable, message: issue.message })));
  }
  if (problems.length === 0) problems.push(...crossSettingProblems(values as WorkerConfig));
  if (problems.length > 0) {
    throw new ConfigurationError(
      `invalid worker configuration: ${problems.map((problem) => `${problem.variable} ${problem.message}`).join('; ')}`,
      {
        variables: problems.map((problem) => problem.variable),
      },
    );
  }
  return values as WorkerConfig;
}

/** The worker's configuration from its environment (the container's entry point). */
export function loadWorkerConfig(environment: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return resolveWorkerConfig({}, environment);
}

/** Where the worker reads images and writes results (see `placeResult`). */
export function sourceLayoutOf(config: WorkerConfig): SourceLayout {
  return {
    uploadsPrefix: config.uploadsPrefix,
    resultsPrefix: config.resultsPrefix,
    ...(config.bucketName === undefined ? {} : { bucketName: config.bucketName }),
    sourceBuckets: config.sourceBuckets === undefined ? [] : config.sourceBuckets.split(','),
  };
}

/**
 * The S3 and SQS timeouts the configuration asks for. SQS connections stay silent for a long
 * poll's whole wait, so their idle limit is at least the wait plus the margin; each long poll
 * passes that as its own request timeout.
 */
export function workerClientTimeouts(config: WorkerConfig): { s3: AwsTimeouts; sqs: AwsTimeouts } {
  const connectionMs = config.sdkConnectionTimeoutMs;
  const requestMs = config.sdkRequestTimeoutMs;
  const longPollMs = (config.receiveWaitSeconds + LONG_POLL_MARGIN_SECONDS) * 1000;
  return {
    s3: { connectionMs, requestMs, socketIdleMs: requestMs },
    sqs: { connectionMs, requestMs, socketIdleMs: Math.max(requestMs, longPollMs) },
  };
}
