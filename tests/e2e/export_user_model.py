"""export_user_model.py OUT_DIR

What a user does with their own torchvision model: a plain torch.onnx.export
(opset 13, dynamic batch, nothing cleaned) and a traced TorchScript file, of
an architecture that is not in inferlab's zoo (mnasnet0_5, seeded).
Also writes a second, different model's TorchScript (other.pt) so a pair
that disagrees can be tried. Run with Debian's /usr/bin/python3.
"""
import os
import sys

import torch
import torchvision


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = torchvision.models.mnasnet0_5(weights=None).eval()
    example = torch.rand(1, 3, 224, 224)
    torch.onnx.export(model, example, os.path.join(out, "user_net.onnx"), input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      opset_version=13)
    with torch.no_grad():
        torch.jit.trace(model, example).save(os.path.join(out, "user_net.pt"))
        torch.manual_seed(1)
        other = torchvision.models.mnasnet0_5(weights=None).eval()
        torch.jit.trace(other, example).save(os.path.join(out, "other.pt"))
    print("exported", out)


if __name__ == "__main__":
    main()
