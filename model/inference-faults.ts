import { ConfigurationError } from '../common/errors.js';

/**
 * Test hooks of the inference thread, for the fault suite and the worker's tests, which must see a
 * dead and a stuck inference thread without a broken GPU: `ALEXNET_INFERENCE_FAULT=exit-on-batch:3`
 * ends the thread when its third batch arrives; `hang-on-batch:2` blocks it forever on its second.
 * Unset (always, outside tests), nothing changes.
 */
export const INFERENCE_FAULT_VARIABLE = 'ALEXNET_INFERENCE_FAULT';

/** Which batch (1-based) ends or blocks the inference thread. */
export interface InferenceFaults {
  readonly exitOnBatch?: number;
  readonly hangOnBatch?: number;
}

/** Parses the variable; anything it does not recognise is an error, so a mistyped hook is not silently ignored. */
export function readInferenceFaults(value: string | undefined): InferenceFaults {
  if (!value) return {};
  const match = /^(exit|hang)-on-batch:([1-9]\d*)$/.exec(value.trim());
  if (!match)
    throw new ConfigurationError(
      `${INFERENCE_FAULT_VARIABLE} must be exit-on-batch:<n> or hang-on-batch:<n>, got "${value}"`,
    );
  const batch = Number(match[2]);
  return match[1] === 'exit' ? { exitOnBatch: batch } : { hangOnBatch: batch };
}

/** Blocks the calling thread for good, as a wedged native call would. */
export function hangForever(): never {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(cell, 0, 0);
}
