#!/usr/bin/env python3
"""Test helper: run torchvision's AlexNet with the weights of an ONNX file named like its state_dict.

usage: torch_reference_logits.py MODEL.onnx INPUT.f32 OUTPUT.f32
INPUT holds N×3×224×224 float32 (little-endian); OUTPUT receives N×1000 float32 logits.
Loading the dev model's initializers into torchvision's own module checks that the graph built in
TypeScript computes what torchvision's AlexNet computes.
"""
import sys

import numpy
import onnx
import onnx.numpy_helper
import torch
import torchvision


def main(model_path, input_path, output_path):
    graph = onnx.load(model_path).graph
    state = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy()) for t in graph.initializer}
    model = torchvision.models.alexnet(weights=None).eval()
    model.load_state_dict(state, strict=True)
    images = torch.from_numpy(numpy.fromfile(input_path, dtype="<f4").reshape(-1, 3, 224, 224))
    with torch.no_grad():
        logits = model(images)
    logits.numpy().astype("<f4").tofile(output_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
