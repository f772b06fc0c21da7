#!/usr/bin/env python3
"""Test helper: torchvision's AlexNet with an ONNX model's weights, exported again by torch.onnx.

usage: export_torch_alexnet.py MODEL.onnx OUT.onnx
The weights are the model's initializers (named like torchvision's state_dict); the export is what a
user gets from torch.onnx.export(torchvision.models.alexnet(...)), opset 17, dynamic batch.
"""
import sys

import onnx
import onnx.numpy_helper
import torch
import torchvision


def main(model_path, out_path):
    graph = onnx.load(model_path).graph
    state = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy()) for t in graph.initializer}
    model = torchvision.models.alexnet(weights=None).eval()
    model.load_state_dict(state, strict=True)
    torch.onnx.export(
        model,
        torch.zeros(1, 3, 224, 224),
        out_path,
        opset_version=17,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
