# Time of the GEMMs of one W1 training step alone (no activations, loss or optimizer), in
# PyTorch (MKL/oneDNN) on 2 threads: the floor for any fp32 framework's W1 step.
import time, torch, statistics
torch.set_num_threads(2)
B = 128
g = torch.Generator().manual_seed(0)
r = lambda *s: torch.randn(*s, generator=g)
x, w1, w2, w3 = r(B, 784), r(784, 512), r(512, 512), r(512, 10)
h1, h2, d3, d2, d1 = r(B, 512), r(B, 512), r(B, 10), r(B, 512), r(B, 512)
def step():
    torch.mm(x, w1); torch.mm(h1, w2); torch.mm(h2, w3)          # forward
    torch.mm(h2.t(), d3); torch.mm(d3, w3.t())                    # Dense 3: dW, dx
    torch.mm(h1.t(), d2); torch.mm(d2, w2.t())                    # Dense 2: dW, dx
    torch.mm(x.t(), d1)                                           # Dense 1: dW (no dx)
for _ in range(200): step()
res = []
for _ in range(7):
    n = 2000; t = time.perf_counter()
    for _ in range(n): step()
    res.append((time.perf_counter() - t) / n)
ms = statistics.median(res) * 1e3
flop = 2 * B * (784*512 + 512*512 + 512*10) * 3 - 2 * B * 784 * 512
# Peak-ish: one large square GEMM.
a, b = r(2048, 2048), r(2048, 2048)
for _ in range(3): torch.mm(a, b)
t = time.perf_counter(); k = 20
for _ in range(k): torch.mm(a, b)
big = 2 * 2048**3 * k / (time.perf_counter() - t) / 1e9
print(f"torch {torch.__version__}: W1 step GEMMs alone {ms:.3f} ms ({flop/1e6:.0f} MFLOP, {flop/ms/1e6:.0f} GFLOP/s) -> at most {B/ms*1e3:,.0f} samples/s; 2048^3 GEMM {big:.0f} GFLOP/s")
