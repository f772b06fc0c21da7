"""The decode reference of `npm run bench`: what PIL (Debian's python3-pil) takes, on one thread,
to turn the same files into what `decodeImage` makes of them — upright 8-bit RGB, the shorter side
resized to 256 (bilinear, antialiased), the centre 224×224 cropped — with `draft()`, which lets the
JPEG decoder shrink by 1/2, 1/4 or 1/8 while it decodes (as sharp's shrink-on-load does).

Usage: /usr/bin/python3 bench/pil-decode-reference.py <files...>
Prints one JSON line: {"images": n, "cpuMsPerImage": ms}, after one untimed pass over the files.
With PIL_REFERENCE_OUTPUT set to a folder, the untimed pass writes each image's 224×224 RGB bytes
there as <file name>.rgb (the test that checks this makes what decodeImage makes reads them).
"""

import json
import os
import sys
import time

from PIL import Image, ImageOps

RESIZED_SHORTER_SIDE = 256
CROP = 224


def decode(path):
    with Image.open(path) as image:
        # The smallest decoder scale that still leaves the shorter side at least 256 after turning.
        width, height = image.size
        scale = RESIZED_SHORTER_SIDE / min(width, height)
        image.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))
        upright = ImageOps.exif_transpose(image).convert("RGB")
    width, height = upright.size
    scale = RESIZED_SHORTER_SIDE / min(width, height)
    resized = upright.resize(
        (max(RESIZED_SHORTER_SIDE, round(width * scale)), max(RESIZED_SHORTER_SIDE, round(height * scale))),
        Image.BILINEAR,
    )
    left = (resized.width - CROP) // 2
    top = (resized.height - CROP) // 2
    return resized.crop((left, top, left + CROP, top + CROP)).tobytes()


def main(files):
    output = os.environ.get("PIL_REFERENCE_OUTPUT")
    for path in files:
        pixels = decode(path)
        if output:
            with open(os.path.join(output, os.path.basename(path) + ".rgb"), "wb") as file:
                file.write(pixels)
    started = time.process_time()
    for path in files:
        if len(decode(path)) != CROP * CROP * 3:
            raise SystemExit(f"{path}: not {CROP}x{CROP} RGB")
    cpu = time.process_time() - started
    print(json.dumps({"images": len(files), "cpuMsPerImage": cpu * 1000 / len(files)}))


if __name__ == "__main__":
    main(sys.argv[1:])
