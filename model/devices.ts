export const DEVICES = ['auto', 'cpu', 'cuda'] as const;
/** `auto` uses CUDA when its provider loads and the CPU otherwise; `cuda` insists on the GPU. */
export type DeviceChoice = (typeof DEVICES)[number];
export type Device = Exclude<DeviceChoice, 'auto'>;
