import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

/** A folder of benchmark images and how it was made. */
export interface ImageSet {
  readonly name: string;
  readonly folder: string;
  readonly files: string[];
}

/** The fixture photos copied round-robin until there are `count` files. */
export async function repeatedFixtures(sourceFolder: string, targetFolder: string, count: number): Promise<ImageSet> {
  const sources = (await readdir(sourceFolder)).sort();
  await mkdir(targetFolder, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const source = sources[i % sources.length]!;
    const file = path.join(targetFolder, `${String(i).padStart(4, '0')}-${source}`);
    await writeFile(file, await readFile(path.join(sourceFolder, source)));
    files.push(file);
  }
  return { name: `fixtures ×${count}`, folder: targetFolder, files };
}

/**
 * Phone-sized photos: each fixture enlarged to 4032×3024 (12 megapixels) and saved as a quality-90
 * JPEG, varied by a small crop so that no two files are alike.
 */
export async function phoneSizedPhotos(sourceFolder: string, targetFolder: string, count: number): Promise<ImageSet> {
  const sources = (await readdir(sourceFolder)).sort();
  await mkdir(targetFolder, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const upright = await sharp(path.join(sourceFolder, sources[i % sources.length]!))
      .rotate()
      .png()
      .toBuffer();
    const { width = 0, height = 0 } = await sharp(upright).metadata();
    const inset = i % 7;
    const file = path.join(targetFolder, `${String(i).padStart(4, '0')}-phone.jpg`);
    await sharp(upright)
      .extract({ left: inset, top: inset, width: width - 2 * inset, height: height - 2 * inset })
      .resize(4032, 3024, { fit: 'fill' })
      .jpeg({ quality: 90 })
      .toFile(file);
    files.push(file);
  }
  return { name: `phone photos ×${count} (4032×3024 JPEG)`, folder: targetFolder, files };
}
