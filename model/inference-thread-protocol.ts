import type { DeviceChoice, Device } from './devices.js';

/** Messages from the main thread to the inference thread. */
export type InferenceThreadRequest =
  | { readonly type: 'open'; readonly modelPath: string; readonly device: DeviceChoice; readonly threads: number }
  /** Decoded 224×224 RGB images: the thread normalises them into one batch, then runs it. */
  | { readonly type: 'run'; readonly id: number; readonly images: readonly Uint8Array[] }
  | { readonly type: 'close' };

/** Messages from the inference thread to the main thread. */
export type InferenceThreadReply =
  | {
      readonly type: 'opened';
      readonly device: Device;
      readonly reason: string;
      readonly inputNames: readonly string[];
      readonly outputNames: readonly string[];
      readonly inputType?: string;
    }
  | {
      readonly type: 'output';
      readonly id: number;
      readonly data: Float32Array;
      readonly dims: readonly number[];
      readonly dataType: string;
    }
  | { readonly type: 'failed'; readonly id?: number; readonly code: string; readonly message: string }
  | { readonly type: 'closed' };
