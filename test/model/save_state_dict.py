#!/usr/bin/env python3
"""Test helper: save the weights of an ONNX file named like AlexNet's state_dict as a PyTorch checkpoint.

usage: save_state_dict.py MODEL.onnx OUT.pth:zip|legacy:float|half [OUT.pth:…]…
Writes torchvision's AlexNet state_dict, loaded with the ONNX initializers, with torch.save in the
zip format or the legacy one (`_use_new_zipfile_serialization=False`); `half` stores float16. One
run writes every checkpoint asked for: the model is read and torch imported once.
"""
import sys

import onnx
import onnx.numpy_helper
import torch
import torchvision


def main(model_path, *outputs):
    graph = onnx.load(model_path).graph
    state = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy()) for t in graph.initializer}
    for output in outputs:
        out_path, layout, precision = output.rsplit(":", 2)
        model = torchvision.models.alexnet(weights=None)
        model.load_state_dict(state, strict=True)
        if precision == "half":
            model = model.half()
        torch.save(model.state_dict(), out_path, _use_new_zipfile_serialization=(layout == "zip"))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
