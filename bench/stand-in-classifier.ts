import { BatchInputBuffers, imagenetClassNames, type BatchClassifier, type LabelScore } from '../model/index.js';

/**
 * A classifier that does everything but run the network: it normalises each batch into the
 * network's input exactly as the inference thread does (`BatchInputBuffers`), then answers fixed labels.
 * With it, the worker's CPU time is the time spent outside inference — what paces a GPU host,
 * where the network runs on the GPU.
 */
export class StandInClassifier implements BatchClassifier {
  readonly model = {
    sha256: '0'.repeat(64),
    weights: 'stand-in:no-inference',
    pretrained: false,
    precision: 'fp32' as const,
  };
  readonly device = 'cpu' as const;
  readonly topK = 5;
  private readonly labels: LabelScore[];
  private readonly inputs = new BatchInputBuffers();

  constructor(readonly maxBatchSize: number) {
    const names = imagenetClassNames();
    this.labels = [281, 282, 285, 287, 283].map((index, rank) => ({
      index,
      label: names[index]!,
      score: 0.5 / (rank + 1),
    }));
  }

  async classifyBatch(images: readonly Uint8Array[]): Promise<LabelScore[][]> {
    this.inputs.pack(images).release();
    return images.map(() => this.labels);
  }
}
