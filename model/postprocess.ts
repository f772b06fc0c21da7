/** One predicted class. */
export interface LabelScore {
  /** Class index in torchvision's ImageNet order (0 = tench). */
  readonly index: number;
  readonly label: string;
  /** Softmax probability, 0 to 1. */
  readonly score: number;
}

/** Numerically stable softmax of `logits[offset .. offset + length)`. */
export function softmax(logits: ArrayLike<number>, offset = 0, length = logits.length - offset): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < length; i++) max = Math.max(max, logits[offset + i]!);
  const probabilities = new Float64Array(length);
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const value = Math.exp(logits[offset + i]! - max);
    probabilities[i] = value;
    sum += value;
  }
  for (let i = 0; i < length; i++) probabilities[i]! /= sum;
  return probabilities;
}

/** Indices of the `k` largest values, largest first; ties keep the lower index first. */
export function topKIndices(values: ArrayLike<number>, k: number): number[] {
  const count = Math.min(Math.max(0, Math.floor(k)), values.length);
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (best.length === count) {
      if (count === 0 || value <= values[best[count - 1]!]!) continue;
      best.pop();
    }
    let position = best.length;
    while (position > 0 && values[best[position - 1]!]! < value) position--;
    best.splice(position, 0, i);
  }
  return best;
}

/** Softmax, then the top `k` classes with their names, by descending score. */
export function topKLabels(
  logits: ArrayLike<number>,
  classNames: readonly string[],
  k: number,
  offset = 0,
): LabelScore[] {
  const probabilities = softmax(logits, offset, classNames.length);
  return topKIndices(probabilities, k).map((index) => ({
    index,
    label: classNames[index]!,
    score: probabilities[index]!,
  }));
}
