import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { SeededNormalRandom } from '../model/seeded-random.js';
import type { ImageSet } from './image-sets.js';

/**
 * `count` images unlike each other, made from the fixture photos with a seeded generator: a random
 * crop (a tenth to all of the photo), a quarter turn and mirror, brightness, saturation and hue
 * shifts, sometimes a blur or grey, a random size (96–800 px on the long side) and JPEG at a random
 * quality or PNG. Natural image statistics, many framings: what an agreement figure needs, which
 * five photos alone cannot give. The same seed gives the same files.
 */
export async function variedImages(
  sourceFolder: string,
  targetFolder: string,
  count: number,
  seed: number,
): Promise<ImageSet> {
  const random = new SeededNormalRandom(seed);
  const uniform = (low: number, high: number) => low + (high - low) * random.nextUniform();
  const sources = await Promise.all(
    (await readdir(sourceFolder))
      .sort()
      .map((name) => sharp(path.join(sourceFolder, name)).rotate().toBuffer({ resolveWithObject: true })),
  );
  await mkdir(targetFolder, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const { data, info } = sources[Math.floor(uniform(0, sources.length))]!;
    const width = Math.max(16, Math.round(info.width * uniform(0.32, 1)));
    const height = Math.max(16, Math.round(info.height * uniform(0.32, 1)));
    const crop = await sharp(data)
      .extract({
        left: Math.floor(uniform(0, info.width - width)),
        top: Math.floor(uniform(0, info.height - height)),
        width,
        height,
      })
      .png({ compressionLevel: 1 })
      .toBuffer();
    // One operation per pipeline where order matters: sharp applies a pipeline's steps in its own order.
    let image = sharp(crop)
      .rotate(90 * Math.floor(uniform(0, 4)))
      .modulate({ brightness: uniform(0.7, 1.3), saturation: uniform(0.4, 1.6), hue: Math.round(uniform(-40, 40)) });
    if (random.nextUniform() < 0.5) image = image.flop();
    if (random.nextUniform() < 0.15) image = image.blur(uniform(0.5, 3));
    if (random.nextUniform() < 0.1) image = image.grayscale();
    const longSide = Math.round(uniform(96, 800));
    image = image.resize(longSide, longSide, { fit: 'inside' });
    const asPng = random.nextUniform() < 0.2;
    const file = path.join(targetFolder, `${String(i).padStart(4, '0')}.${asPng ? 'png' : 'jpg'}`);
    await writeFile(
      file,
      await (asPng ? image.png() : image.jpeg({ quality: Math.round(uniform(60, 95)) })).toBuffer(),
    );
    files.push(file);
  }
  return { name: `varied ×${count} (seed ${seed})`, folder: targetFolder, files };
}
