import { readModelFile, planModel, type ModelPlan } from '../../model/index.js';
import { OFFICIAL_ALEXNET_CHECKPOINT } from '../../model/checkpoint/official-weights.js';
import { FIRST_USE_ENVIRONMENT, FIRST_USE_TIMEOUTS } from '../../model/pretrained/weights-source.js';

const SOURCE_TEXT: Record<ModelPlan['source'], string> = {
  explicit: 'named by --model / MODEL_PATH',
  default: 'the project’s converted model (model/alexnet.onnx)',
  cached: 'the per-user model cache',
  fetched: 'the per-user model cache',
  'to-fetch': 'not there yet: the next run fetches it (first use)',
  dev: 'the dev model: UNTRAINED weights, labels are not real predictions',
};

/**
 * `model status`: which model a run would use, where it lives, its SHA-256 and whether its weights
 * are pretrained — found as a run finds it, without downloading or building anything.
 */
export async function modelStatusLines(options: { model?: string; offline?: boolean }): Promise<string[]> {
  const plan = await planModel({ modelPath: options.model, offline: options.offline });
  const lines = [row('model', plan.path), row('source', SOURCE_TEXT[plan.source])];
  if (plan.exists) {
    const { identity } = await readModelFile(plan.path);
    lines.push(
      row('weights', `${identity.weights} — ${identity.pretrained ? 'pretrained' : 'NOT pretrained'}`),
      row('sha256', identity.sha256),
    );
    if (identity.precision === 'int8')
      lines.push(
        row(
          'precision',
          `int8, quantized from ${identity.quantization?.sourceSha256 ?? 'an unrecorded model'} on ${identity.quantization?.calibrationImages ?? '?'} calibration images`,
        ),
      );
  } else if (plan.source === 'dev') {
    lines.push(row('weights', 'not built yet: the next run builds the dev model (seeded, untrained) here'));
  }
  if (plan.firstUse) {
    const { source, cacheDirectory, offline } = plan.firstUse;
    lines.push(row('cache', `${cacheDirectory} (${FIRST_USE_ENVIRONMENT.cache} moves it)`));
    const official = source.url === OFFICIAL_ALEXNET_CHECKPOINT.url;
    lines.push(
      row(
        'first use',
        offline
          ? `offline (${FIRST_USE_ENVIRONMENT.offline} or --offline): nothing is downloaded`
          : `fetches ${source.url}${official ? ' (torchvision IMAGENET1K_V1, 233 MB)' : ''}, SHA-256 ${source.expectedSha256}${source.expectedSha256.length < 64 ? '…' : ''}; the dev model when it cannot (answer within ${FIRST_USE_TIMEOUTS.connectMs / 1000} s, then no ${FIRST_USE_TIMEOUTS.idleMs / 1000} s without data)`,
      ),
    );
  }
  return lines;
}

function row(name: string, value: string): string {
  return `${name.padEnd(10)} ${value}`;
}
