import path from 'node:path';
import envPaths from 'env-paths';
import { ConfigurationError } from '../../common/errors.js';
import { hashPrefixInName, OFFICIAL_ALEXNET_CHECKPOINT } from '../checkpoint/official-weights.js';
import { MAX_CHECKPOINT_DOWNLOAD_BYTES } from './download-verified.js';

/** Where a checkpoint comes from and what it must hash to. */
export interface WeightsSource {
  readonly url: string;
  /** The full SHA-256 the download must have, or the prefix a torch.hub-style name promises. */
  readonly expectedSha256: string;
  /** The largest download accepted: the official file's own size, else {@link MAX_CHECKPOINT_DOWNLOAD_BYTES}. */
  readonly maxBytes: number;
}

/** How the two settings are called where they come from: `--url`/`--sha256`, or the environment's names. */
export interface SourceSettingNames {
  readonly url: string;
  readonly sha256: string;
}

/**
 * The checkpoint to download, checked before anything is written: an http(s) URL, and a hash to
 * verify it by — the official file's SHA-256, the one given, or the prefix in a torch.hub-style name.
 */
export function weightsSource(
  given: { url?: string | undefined; sha256?: string | undefined; maxBytes?: number | undefined },
  names: SourceSettingNames,
): WeightsSource {
  const url = given.url || OFFICIAL_ALEXNET_CHECKPOINT.url;
  checkDownloadUrl(url, names.url);
  const official = url === OFFICIAL_ALEXNET_CHECKPOINT.url;
  return {
    url,
    expectedSha256: expectedSha256(url, given.sha256 || undefined, names),
    maxBytes: official ? OFFICIAL_ALEXNET_CHECKPOINT.bytes : (given.maxBytes ?? MAX_CHECKPOINT_DOWNLOAD_BYTES),
  };
}

function checkDownloadUrl(url: string, name: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigurationError(
      `${name} ${JSON.stringify(url)} is not a URL: give an http(s) address such as ${OFFICIAL_ALEXNET_CHECKPOINT.url}`,
      { setting: name },
    );
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new ConfigurationError(`${name} ${JSON.stringify(url)} is not an http(s) URL`, {
      setting: name,
    });
}

function expectedSha256(url: string, sha256: string | undefined, names: SourceSettingNames): string {
  if (sha256 !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(sha256))
      throw new ConfigurationError(`${names.sha256} must be 64 hexadecimal digits`, { setting: names.sha256 });
    return sha256.toLowerCase();
  }
  if (url === OFFICIAL_ALEXNET_CHECKPOINT.url) return OFFICIAL_ALEXNET_CHECKPOINT.sha256;
  const prefix = hashPrefixInName(new URL(url).pathname.split('/').at(-1) ?? '');
  if (!prefix)
    throw new ConfigurationError(
      `cannot verify ${url}: its file name carries no hash (torch.hub names them name-<8 hex digits>.pth); pass ${names.sha256} with the file's full SHA-256`,
      { setting: names.sha256 },
    );
  return prefix;
}

/** The environment variables of the first-use fetch (docs/model.md). */
export const FIRST_USE_ENVIRONMENT = {
  /** `1` (or `true`, `yes`): never download; a cached model is still used. */
  offline: 'ALEXNET_OFFLINE',
  /** The per-user model cache. Default: the platform's cache folder (see {@link userModelCacheDirectory}). */
  cache: 'ALEXNET_MODEL_CACHE',
  /** Where the first use downloads the checkpoint from (a mirror). Default: torchvision's official URL. */
  url: 'ALEXNET_WEIGHTS_URL',
  /** The SHA-256 a checkpoint from another URL must have (else its torch.hub name's prefix). */
  sha256: 'ALEXNET_WEIGHTS_SHA256',
} as const;

/**
 * The first use's time limits: the server must answer within `connectMs`, and then send something
 * at least every `idleMs`; otherwise the run goes on with the dev model and says why.
 */
export const FIRST_USE_TIMEOUTS = { connectMs: 5_000, idleMs: 5_000 } as const;

/** What the first use of a model needs to know: where the cache is, whether to download, and from where. */
export interface FirstUseSettings {
  readonly cacheDirectory: string;
  readonly offline: boolean;
  readonly source: WeightsSource;
}

/**
 * The per-user model cache, shared by every clone and by `npx`: `$ALEXNET_MODEL_CACHE`, else the
 * platform's cache folder — `$XDG_CACHE_HOME/alexnet-pipeline` or `~/.cache/alexnet-pipeline` on
 * Linux, `~/Library/Caches/alexnet-pipeline` on macOS, `%LOCALAPPDATA%\alexnet-pipeline\Cache` on Windows.
 */
export function userModelCacheDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const given = env[FIRST_USE_ENVIRONMENT.cache];
  return given ? path.resolve(given) : envPaths('alexnet-pipeline', { suffix: '' }).cache;
}

/**
 * The cached model converted from a source, named as torch.hub names checkpoints: by the first 8 hex
 * digits of the SHA-256 it was verified against (a full hash and a torch.hub name agree on them).
 */
export function cachedModelFile(cacheDirectory: string, source: WeightsSource): string {
  return path.join(cacheDirectory, `alexnet-${source.expectedSha256.slice(0, 8)}.onnx`);
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['', '0', 'false', 'no', 'off']);

/** `ALEXNET_OFFLINE` as a boolean: a value that is neither yes nor no is a configuration error, not a guess. */
function offlineFrom(env: NodeJS.ProcessEnv): boolean {
  const value = (env[FIRST_USE_ENVIRONMENT.offline] ?? '').trim().toLowerCase();
  if (TRUE_WORDS.has(value)) return true;
  if (FALSE_WORDS.has(value)) return false;
  throw new ConfigurationError(
    `${FIRST_USE_ENVIRONMENT.offline} must be 1 (or true, yes) to stay offline, or 0 (false, no); got ${JSON.stringify(env[FIRST_USE_ENVIRONMENT.offline])}`,
    { setting: FIRST_USE_ENVIRONMENT.offline },
  );
}

/** The first use's settings from the environment; `offline` (a `--offline` flag) wins when true. */
export function firstUseSettings(
  overrides: { offline?: boolean | undefined } = {},
  env: NodeJS.ProcessEnv = process.env,
): FirstUseSettings {
  return {
    cacheDirectory: userModelCacheDirectory(env),
    offline: overrides.offline === true || offlineFrom(env),
    source: weightsSource(
      { url: env[FIRST_USE_ENVIRONMENT.url], sha256: env[FIRST_USE_ENVIRONMENT.sha256] },
      { url: FIRST_USE_ENVIRONMENT.url, sha256: FIRST_USE_ENVIRONMENT.sha256 },
    ),
  };
}
