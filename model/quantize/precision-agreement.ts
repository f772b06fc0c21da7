import { CLASS_COUNT } from '../constants.js';
import { softmax, topKIndices } from '../postprocess.js';

/** How far a quantized model's answers are from the fp32 model's on the same images. */
export interface PrecisionAgreement {
  readonly images: number;
  /** Share of images whose top-1 class is the same, 0–1. */
  readonly top1Agreement: number;
  /** Mean share of the fp32 top-5 classes that are in the int8 top-5, 0–1. */
  readonly top5Overlap: number;
  /** The largest difference of a softmax score (what results report), over every class and image. */
  readonly maxScoreDifference: number;
  /** Mean absolute difference of the logits. */
  readonly meanLogitDifference: number;
  /**
   * Root mean square of the logit differences once each image's mean difference is taken out: a
   * shift of all of an image's logits changes no score and no rank, so this is the part of the error
   * that can flip a top-1 — and, unlike the top-1 share, it moves smoothly with the quantization.
   */
  readonly centredLogitRms: number;
  /** Images whose top-1 class differs, by index in the set. */
  readonly disagreeing: readonly number[];
}

/** Compares two models' logits for the same images (`count × 1000` floats each, in the same order). */
export function comparePrecisions(reference: Float32Array, candidate: Float32Array): PrecisionAgreement {
  if (reference.length !== candidate.length || reference.length % CLASS_COUNT !== 0)
    throw new RangeError(`logits of ${reference.length} and ${candidate.length} values are not the same images`);
  const images = reference.length / CLASS_COUNT;
  let agreeing = 0;
  let overlap = 0;
  let maxScoreDifference = 0;
  let logitDifference = 0;
  let centredSquares = 0;
  const disagreeing: number[] = [];
  for (let image = 0; image < images; image++) {
    const offset = image * CLASS_COUNT;
    const a = softmax(reference, offset, CLASS_COUNT);
    const b = softmax(candidate, offset, CLASS_COUNT);
    const topA = topKIndices(a, 5);
    const topB = topKIndices(b, 5);
    if (topA[0] === topB[0]) agreeing++;
    else disagreeing.push(image);
    overlap += topA.filter((index) => topB.includes(index)).length / 5;
    let shift = 0;
    for (let i = 0; i < CLASS_COUNT; i++) {
      maxScoreDifference = Math.max(maxScoreDifference, Math.abs(a[i]! - b[i]!));
      logitDifference += Math.abs(reference[offset + i]! - candidate[offset + i]!);
      shift += candidate[offset + i]! - reference[offset + i]!;
    }
    shift /= CLASS_COUNT;
    for (let i = 0; i < CLASS_COUNT; i++)
      centredSquares += (candidate[offset + i]! - reference[offset + i]! - shift) ** 2;
  }
  return {
    images,
    top1Agreement: agreeing / images,
    top5Overlap: overlap / images,
    maxScoreDifference,
    meanLogitDifference: logitDifference / reference.length,
    centredLogitRms: Math.sqrt(centredSquares / reference.length),
    disagreeing,
  };
}
