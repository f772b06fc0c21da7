"""The PyTorch reference of `npm run bench:int8`: the loop a user writes first with torchvision —
one image at a time, PIL open, the ImageNet evaluation transform (Resize(256), CenterCrop(224),
ToTensor, Normalize), `model(x)` under `torch.no_grad()` — on torchvision's AlexNet (weights do
not change its speed), with PyTorch's default threads. It stands for the seed project's Python loop,
which is not in the repository; `classify` is compared with it in the same run.

Usage: /usr/bin/python3 bench/pytorch-loop-reference.py <files...>
Prints one JSON line: {"images": n, "seconds": s, "imagesPerSecond": r}, after an untimed pass
over the first 16 files (warm-up).
"""

import json
import sys
import time

import torch
import torchvision
from PIL import Image
from torchvision import transforms

TRANSFORM = transforms.Compose(
    [
        transforms.Resize(256),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ]
)


def classify(model, path):
    with Image.open(path) as image:
        x = TRANSFORM(image.convert("RGB")).unsqueeze(0)
    with torch.no_grad():
        logits = model(x)
    return int(logits.argmax(1))


def main(files):
    model = torchvision.models.alexnet().eval()
    for path in files[:16]:
        classify(model, path)
    started = time.perf_counter()
    for path in files:
        classify(model, path)
    seconds = time.perf_counter() - started
    print(json.dumps({"images": len(files), "seconds": seconds, "imagesPerSecond": len(files) / seconds}))


if __name__ == "__main__":
    main(sys.argv[1:])
