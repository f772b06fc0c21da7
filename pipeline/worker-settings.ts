import { availableParallelism } from 'node:os';
import { DEFAULT_PREPROCESS_OPTIONS, DEVICES, PRECISIONS } from '../model/index.js';
import { BUCKET_NAME_LIST } from './bucket-names.js';

/** A whole-number setting within a range. `default` may depend on the machine (a function). */
interface IntegerSetting {
  readonly variable: string;
  readonly type: 'integer';
  readonly min: number;
  readonly max: number;
  readonly default?: number | (() => number);
  /** How the default reads in the docs when it is not a plain number. */
  readonly defaultText?: string;
  readonly doc: string;
}

/** Free text (a prefix, a path, a name), optionally matched against a pattern. */
interface TextSetting {
  readonly variable: string;
  readonly type: 'text';
  readonly default?: string;
  readonly defaultText?: string;
  readonly pattern?: RegExp;
  readonly patternProblem?: string;
  readonly doc: string;
}

interface UrlSetting {
  readonly variable: string;
  readonly type: 'url';
  readonly required?: true;
  /** Why it is needed, said when it is missing. */
  readonly requiredProblem?: string;
  readonly defaultText?: string;
  readonly doc: string;
}

interface ChoiceSetting {
  readonly variable: string;
  readonly type: 'choice';
  readonly choices: readonly string[];
  readonly default: string;
  readonly doc: string;
}

export type WorkerSetting = IntegerSetting | TextSetting | UrlSetting | ChoiceSetting;

/**
 * Every setting of the worker, in one place: its field in `WorkerConfig`, its environment variable,
 * its default, its range and what it does. The worker's configuration type and validation, the
 * task definition's environment, in-process callers (`local`, the benchmark, tests) and the docs'
 * settings table are all derived from this table.
 */
export const WORKER_SETTINGS = {
  queueUrl: {
    variable: 'QUEUE_URL',
    type: 'url',
    required: true,
    requiredProblem: 'is required (the SQS queue URL to consume)',
    defaultText: 'required',
    doc: 'queue of S3 event notifications',
  },
  deadLetterQueueUrl: {
    variable: 'DLQ_URL',
    type: 'url',
    defaultText: 'none',
    doc: 'where a message that is not an S3 event goes at once (without it, it goes there after `maxReceiveCount` receives)',
  },
  bucketName: {
    variable: 'BUCKET_NAME',
    type: 'text',
    defaultText: 'any',
    pattern: /^.{3,63}$/,
    patternProblem: 'must be a bucket name of 3 to 63 characters',
    doc: 'only events of this bucket are processed',
  },
  uploadsPrefix: {
    variable: 'UPLOADS_PREFIX',
    type: 'text',
    default: 'uploads/',
    doc: 'keys below it are images to classify; ends with `/`, does not overlap `RESULTS_PREFIX`',
  },
  resultsPrefix: {
    variable: 'RESULTS_PREFIX',
    type: 'text',
    default: 'results/',
    doc: 'results are written below it; ends with `/`, does not overlap `UPLOADS_PREFIX`',
  },
  maxBatch: {
    variable: 'MAX_BATCH',
    type: 'integer',
    min: 1,
    max: 256,
    default: 32,
    doc: 'images per inference run at most',
  },
  maxWaitMs: {
    variable: 'MAX_WAIT_MS',
    type: 'integer',
    min: 0,
    max: 60_000,
    default: 50,
    doc: 'a batch runs this long after its first image at the latest',
  },
  maxImagesInFlight: {
    variable: 'MAX_IMAGES_IN_FLIGHT',
    type: 'integer',
    min: 1,
    max: 10_000,
    default: 96,
    doc: 'images received but not yet stored; a receive waits for ten free slots (a quarter of this, if less) and asks only for free ones',
  },
  receiveConcurrency: {
    variable: 'RECEIVE_CONCURRENCY',
    type: 'integer',
    min: 1,
    max: 32,
    default: 4,
    doc: 'ReceiveMessage long polls in flight at once',
  },
  receiveWaitSeconds: {
    variable: 'RECEIVE_WAIT_SECONDS',
    type: 'integer',
    min: 0,
    max: 20,
    default: 20,
    doc: 'long-poll wait',
  },
  visibilityTimeoutSeconds: {
    variable: 'VISIBILITY_TIMEOUT_SECONDS',
    type: 'integer',
    min: 5,
    max: 43_200,
    default: 60,
    doc: 'visibility the heartbeat keeps on each held message (the stack derives the queue’s from it)',
  },
  heartbeatIntervalSeconds: {
    variable: 'HEARTBEAT_INTERVAL_SECONDS',
    type: 'integer',
    min: 1,
    max: 3_600,
    default: 20,
    doc: 'how often each held message’s visibility is extended; shorter than `VISIBILITY_TIMEOUT_SECONDS`',
  },
  maxReceiveCount: {
    variable: 'MAX_RECEIVE_COUNT',
    type: 'integer',
    min: 1,
    max: 1_000,
    default: 3,
    doc: 'receives before the queue moves a message to its DLQ (the stack sets its `maxReceiveCount`): an image of a job whose last receive begins is counted in the DLQ until it has a result',
  },
  retryDelaySeconds: {
    variable: 'RETRY_DELAY_SECONDS',
    type: 'integer',
    min: 0,
    max: 43_200,
    default: 5,
    doc: 'a transiently failed message comes back after this',
  },
  shutdownGraceSeconds: {
    variable: 'SHUTDOWN_GRACE_SECONDS',
    type: 'integer',
    min: 0,
    max: 3_600,
    default: 25,
    doc: 'SIGTERM: time for in-flight batches (the stack sets 90, with a 120 s stop timeout)',
  },
  device: {
    variable: 'DEVICE',
    type: 'choice',
    choices: DEVICES,
    default: 'auto',
    doc: 'where inference runs (the stack sets `cuda`)',
  },
  precision: {
    variable: 'PRECISION',
    type: 'choice',
    choices: PRECISIONS,
    default: 'fp32',
    doc: '`int8`: the model quantized once at start (cached) and run on the CPU — for CPU workers; the GPU runs fp32',
  },
  modelPath: {
    variable: 'MODEL_PATH',
    type: 'text',
    defaultText:
      '`model/alexnet.onnx`, else the per-user cache (fetched on first use unless `ALEXNET_OFFLINE=1`), else the dev model',
    pattern: /^.+$/,
    patternProblem: 'must be a path',
    doc: 'the ONNX model',
  },
  threads: {
    variable: 'INFERENCE_THREADS',
    type: 'integer',
    min: 1,
    max: 256,
    default: () => availableParallelism(),
    defaultText: 'the available cores',
    doc: 'CPU threads of one inference',
  },
  topK: { variable: 'TOP_K', type: 'integer', min: 1, max: 1_000, default: 5, doc: 'labels per image' },
  maxImageBytes: {
    variable: 'MAX_IMAGE_BYTES',
    type: 'integer',
    min: 1,
    max: 2 ** 31,
    default: DEFAULT_PREPROCESS_OPTIONS.maxBytes,
    doc: 'largest accepted upload, bytes',
  },
  maxImagePixels: {
    variable: 'MAX_IMAGE_PIXELS',
    type: 'integer',
    min: 1,
    max: 2 ** 31,
    default: DEFAULT_PREPROCESS_OPTIONS.maxPixels,
    doc: 'largest accepted image, pixels',
  },
  imageMemoryMiB: {
    variable: 'IMAGE_MEMORY_MIB',
    type: 'integer',
    min: 64,
    max: 1_048_576,
    default: 1024,
    doc: 'MiB of images held at once: half for downloads waiting to be decoded, half for decoding; at least twice `MAX_IMAGE_BYTES`',
  },
  batchTimeoutSeconds: {
    variable: 'BATCH_TIMEOUT_SECONDS',
    type: 'integer',
    min: 1,
    max: 3_600,
    default: 60,
    doc: 'an inference batch running longer means a stuck inference thread: the worker fails its messages back and exits 1',
  },
  sdkConnectionTimeoutMs: {
    variable: 'SDK_CONNECTION_TIMEOUT_MS',
    type: 'integer',
    min: 100,
    max: 120_000,
    default: 3_000,
    doc: 'S3 and SQS: time to connect',
  },
  sdkRequestTimeoutMs: {
    variable: 'SDK_REQUEST_TIMEOUT_MS',
    type: 'integer',
    min: 1_000,
    max: 600_000,
    default: 15_000,
    doc: 'S3 and SQS: time to the response headers, and the longest silence of a socket (a long poll gets its wait plus 5 s)',
  },
  healthFile: {
    variable: 'HEALTH_FILE',
    type: 'text',
    default: '/tmp/alexnet-worker.alive',
    doc: 'touched every 5 s by the event loop; the container health check fails when it is 30 s old',
  },
  eventBusName: {
    variable: 'EVENT_BUS_NAME',
    type: 'text',
    defaultText: 'none',
    pattern: /^[A-Za-z0-9._\-/:]{1,1600}$/,
    patternProblem: 'must be an EventBridge bus name or ARN',
    doc: 'an EventBridge bus that gets an event per stored result (the stack sets `default`); without it, no events',
  },
  sourceBuckets: {
    variable: 'SOURCE_BUCKETS',
    type: 'text',
    defaultText: 'none',
    pattern: BUCKET_NAME_LIST,
    patternProblem: 'must be bucket names separated by commas',
    doc: 'other buckets whose images jobs may name (`-c sourceBuckets`); their results go below `results/_buckets/<bucket>/` in `BUCKET_NAME`',
  },
  jobsTable: {
    variable: 'JOBS_TABLE',
    type: 'text',
    defaultText: 'none',
    pattern: /^[A-Za-z0-9_.-]{3,255}$/,
    patternProblem: 'must be a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)',
    doc: 'the DynamoDB table of jobs (`submit`): images of a job are counted there and its completion event sent; without it, job records are classified but not counted',
  },
  ecsAgentUri: {
    variable: 'ECS_AGENT_URI',
    type: 'url',
    defaultText: 'set by ECS',
    doc: 'task scale-in protection is held while busy, released when idle; without it (local runs), none',
  },
} as const satisfies Record<string, WorkerSetting>;

type Settings = typeof WORKER_SETTINGS;
export type WorkerSettingName = keyof Settings;

type ValueOf<S> = S extends { type: 'integer' }
  ? number
  : S extends { type: 'choice'; choices: readonly (infer C)[] }
    ? C
    : string;
type AlwaysSet<S> = S extends { required: true } ? true : S extends { default: unknown } ? true : false;

/** The worker's settings with defaults applied: a field per table row, optional where the row has no default. */
export type WorkerSettings = {
  readonly [K in WorkerSettingName as AlwaysSet<Settings[K]> extends true ? K : never]: ValueOf<Settings[K]>;
} & {
  readonly [K in WorkerSettingName as AlwaysSet<Settings[K]> extends true ? never : K]?: ValueOf<Settings[K]>;
};

/** Typed values an in-process caller (or the stack) sets; the rest come from the environment or the defaults. */
export type WorkerSettingOverrides = { readonly [K in WorkerSettingName]?: ValueOf<Settings[K]> };

/** The environment variable of each setting, e.g. `WORKER_ENVIRONMENT.maxBatch === 'MAX_BATCH'`. */
export const WORKER_ENVIRONMENT = Object.fromEntries(
  Object.entries(WORKER_SETTINGS).map(([name, setting]) => [name, setting.variable]),
) as {
  readonly [K in WorkerSettingName]: Settings[K]['variable'];
};

/** The default of a setting that has one (a machine-dependent default evaluated now). */
export function workerSettingDefault<K extends WorkerSettingName>(name: K): ValueOf<Settings[K]> | undefined {
  const setting: WorkerSetting = WORKER_SETTINGS[name];
  if (!('default' in setting) || setting.default === undefined) return undefined;
  return (typeof setting.default === 'function' ? setting.default() : setting.default) as ValueOf<Settings[K]>;
}

/** Typed settings as the environment variables a worker process reads (the task definition's, a spawned worker's). */
export function workerEnvironmentFor(values: WorkerSettingOverrides): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined) environment[WORKER_SETTINGS[name as WorkerSettingName].variable] = String(value);
  }
  return environment;
}

/** The docs' settings table (Markdown), one row per setting in table order. */
export function workerSettingsMarkdownTable(): string {
  const rows = Object.values(WORKER_SETTINGS).map((setting: WorkerSetting) => {
    const range =
      setting.type === 'integer'
        ? `${setting.min}–${setting.max}`
        : setting.type === 'choice'
          ? setting.choices.map((choice) => `\`${choice}\``).join(', ')
          : '';
    const fallback =
      'defaultText' in setting && setting.defaultText !== undefined
        ? setting.defaultText
        : `\`${String('default' in setting ? setting.default : '')}\``;
    return `| \`${setting.variable}\` | ${fallback} | ${range} | ${setting.doc} |`;
  });
  return ['| variable | default | range | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
