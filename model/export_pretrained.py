#!/usr/bin/env python3
"""Export torchvision's AlexNet to ONNX for alexnet-pipeline.

With the default --weights IMAGENET1K_V1 this downloads the pretrained weights (the container
build runs it where the internet is reachable). With --weights none it runs offline and exports
torchvision's own random initialisation, which tests use to check the export path.

The model gets a dynamic batch axis (input [N,3,224,224] float32, output [N,1000] logits) and a
metadata entry `alexnet_pipeline.weights` that says where its weights came from; alexnet-pipeline
reads it to mark results as pretrained or not.
"""
import argparse
import sys

WEIGHTS_METADATA_KEY = "alexnet_pipeline.weights"


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the .onnx file")
    parser.add_argument("--weights", default="IMAGENET1K_V1", choices=["IMAGENET1K_V1", "DEFAULT", "none"],
                        help="torchvision weights to load (default: IMAGENET1K_V1; 'none' works offline)")
    parser.add_argument("--opset", type=int, default=16, help="ONNX opset version (default: 16)")
    return parser.parse_args(argv)


def main(argv):
    arguments = parse_arguments(argv)
    try:
        import onnx
        import torch
        import torchvision
    except ImportError as error:
        print(f"export_pretrained.py needs torch, torchvision and onnx: {error}", file=sys.stderr)
        return 3

    weights = None if arguments.weights == "none" else arguments.weights
    model = torchvision.models.alexnet(weights=weights).eval()
    example = torch.zeros(1, 3, 224, 224)
    torch.onnx.export(
        model,
        example,
        arguments.out,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=arguments.opset,
        do_constant_folding=True,
    )

    exported = onnx.load(arguments.out)
    resolved = "IMAGENET1K_V1" if weights == "DEFAULT" else arguments.weights
    entry = exported.metadata_props.add()
    entry.key = WEIGHTS_METADATA_KEY
    entry.value = f"torchvision:{resolved}"
    exported.producer_name = f"alexnet-pipeline export (torch {torch.__version__}, torchvision {torchvision.__version__})"
    onnx.checker.check_model(exported)
    onnx.save(exported, arguments.out)

    with torch.no_grad():
        probe = model(torch.zeros(2, 3, 224, 224))
    if tuple(probe.shape) != (2, 1000):
        print(f"unexpected output shape {tuple(probe.shape)}", file=sys.stderr)
        return 1
    print(f"wrote {arguments.out}: weights torchvision:{resolved}, opset {arguments.opset}, dynamic batch")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
