/** The variable that turns ONNX Runtime's own telemetry off when set to 1 before its first session. */
export const ORT_TELEMETRY_VARIABLE = 'ORT_DISABLE_TELEMETRY';

/**
 * ONNX Runtime 1.29 and later sends usage telemetry from Linux and macOS (Microsoft's 1DS SDK, a
 * process event at its first session and more later) unless `ORT_DISABLE_TELEMETRY=1` is in the
 * process environment by then. We turn it off for two reasons: the pipeline runs offline and on
 * hosts whose traffic should go to AWS only; and the collector reads `/proc/self/cmdline` through a
 * recursive `std::regex` that overflows the stack — a segmentation fault — once the command line
 * passes about 28 KB, which `classify photos/*.jpg` with a thousand photos does.
 *
 * Call it on the main thread: a worker thread's `process.env` is a copy that native code never sees.
 * An explicit `ORT_DISABLE_TELEMETRY=0` is left as the user set it.
 */
export function disableRuntimeTelemetry(): void {
  if (process.env[ORT_TELEMETRY_VARIABLE] === undefined || process.env[ORT_TELEMETRY_VARIABLE] === '')
    process.env[ORT_TELEMETRY_VARIABLE] = '1';
}
