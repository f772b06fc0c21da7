/**
 * torchvision's AlexNet as data: one entry per module of `features` and `classifier`, named by the
 * module's index so that parameter names match torchvision's `state_dict` (`features.0.weight`, …).
 * The ONNX builder turns this list into a graph; tests read it to check the graph's shape.
 */
export type AlexNetLayer =
  | {
      kind: 'conv';
      name: string;
      inChannels: number;
      outChannels: number;
      kernel: number;
      stride: number;
      padding: number;
    }
  | { kind: 'relu'; name: string }
  | { kind: 'maxpool'; name: string; kernel: number; stride: number }
  | { kind: 'adaptive-avgpool'; name: string; outputSize: number }
  | { kind: 'flatten'; name: string }
  | { kind: 'dropout'; name: string; ratio: number }
  | { kind: 'linear'; name: string; inFeatures: number; outFeatures: number };

export const ALEXNET_LAYERS: readonly AlexNetLayer[] = [
  { kind: 'conv', name: 'features.0', inChannels: 3, outChannels: 64, kernel: 11, stride: 4, padding: 2 },
  { kind: 'relu', name: 'features.1' },
  { kind: 'maxpool', name: 'features.2', kernel: 3, stride: 2 },
  { kind: 'conv', name: 'features.3', inChannels: 64, outChannels: 192, kernel: 5, stride: 1, padding: 2 },
  { kind: 'relu', name: 'features.4' },
  { kind: 'maxpool', name: 'features.5', kernel: 3, stride: 2 },
  { kind: 'conv', name: 'features.6', inChannels: 192, outChannels: 384, kernel: 3, stride: 1, padding: 1 },
  { kind: 'relu', name: 'features.7' },
  { kind: 'conv', name: 'features.8', inChannels: 384, outChannels: 256, kernel: 3, stride: 1, padding: 1 },
  { kind: 'relu', name: 'features.9' },
  { kind: 'conv', name: 'features.10', inChannels: 256, outChannels: 256, kernel: 3, stride: 1, padding: 1 },
  { kind: 'relu', name: 'features.11' },
  { kind: 'maxpool', name: 'features.12', kernel: 3, stride: 2 },
  { kind: 'adaptive-avgpool', name: 'avgpool', outputSize: 6 },
  { kind: 'flatten', name: 'flatten' },
  { kind: 'dropout', name: 'classifier.0', ratio: 0.5 },
  { kind: 'linear', name: 'classifier.1', inFeatures: 9216, outFeatures: 4096 },
  { kind: 'relu', name: 'classifier.2' },
  { kind: 'dropout', name: 'classifier.3', ratio: 0.5 },
  { kind: 'linear', name: 'classifier.4', inFeatures: 4096, outFeatures: 4096 },
  { kind: 'relu', name: 'classifier.5' },
  { kind: 'linear', name: 'classifier.6', inFeatures: 4096, outFeatures: 1000 },
];

/** Number of learned parameters (weights and biases) of the architecture: 61,100,840 for AlexNet. */
export function countParameters(layers: readonly AlexNetLayer[] = ALEXNET_LAYERS): number {
  let total = 0;
  for (const layer of layers) {
    if (layer.kind === 'conv') total += layer.outChannels * (layer.inChannels * layer.kernel ** 2 + 1);
    if (layer.kind === 'linear') total += layer.outFeatures * (layer.inFeatures + 1);
  }
  return total;
}
