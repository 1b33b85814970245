"""W5 anchor, PyTorch eager: torchvision's ResNet50 / MobileNetV2, random weights, inference.

    python bench_w5_torch.py --model mobilenet_v2 [--compile]

Follows ../shared/bench/bench_torch.py (cnn_infer): model.eval(), torch.inference_mode(), NCHW
input; BENCH_DEVICE=cuda runs on a GPU (synchronized timings).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common_w5 as C  # noqa: E402

T0 = C.t0()
args = C.parse_args(lambda p: p.add_argument("--compile", action="store_true"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402

torch.set_num_threads(C.THREADS)
torch.manual_seed(C.SEED)
DEV = os.environ.get("BENCH_DEVICE", "cpu")


def sync():
    if DEV != "cpu":
        torch.cuda.synchronize()


build = {"resnet50": torchvision.models.resnet50, "mobilenet_v2": torchvision.models.mobilenet_v2}[args.model]
model = build(weights=None, num_classes=1000).to(DEV).eval()
fwd = torch.compile(model, dynamic=False) if args.compile else model
x = torch.from_numpy(C.make_input(C.BATCH, layout="nchw")).to(DEV)
x1, x32 = x[:1].contiguous(), x[:C.BATCH].contiguous()
with torch.inference_mode():
    for _ in range(5):
        fwd(x1)
    for _ in range(2):
        fwd(x32)
    sync()
    ready = time.time() - T0

    def run(inp):
        fwd(inp)
        sync()
    lat = C.bench(lambda: run(x1), C.MIN_CALLS_B1)
    b32 = C.bench(lambda: run(x32), C.MIN_CALLS_B32)
C.emit(dict(framework=("torch-compile" if args.compile else "torch") + ("" if DEV == "cpu" else "-" + DEV),
            variant="compile" if args.compile else "eager", workload=f"{args.model}_infer", model=args.model,
            batch=C.BATCH, image_size=C.SIZE,
            versions={"torch": torch.__version__, "torchvision": torchvision.__version__, "numpy": np.__version__},
            torch_threads=torch.get_num_threads(), ready_s=round(ready, 3),
            params=sum(p.numel() for p in model.parameters()),
            infer_b1_latency_ms=round(C.median_ms(lat), 3), infer_b1_calls=len(lat),
            infer_b32_sps=round(C.BATCH / C.median_ms(b32) * 1000.0, 2), infer_b32_calls=len(b32)))
