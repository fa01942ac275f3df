"""PyTorch eager baseline for scripts/gpu-check.sh: the same networks, batch sizes, optimizer and fp32 as
bench/FusedNets.GpuCheck, timed the same way (one warm-up epoch, then two timed epochs, data on the GPU,
a fresh permutation per epoch). Prints one line per configuration:
    throughput config=784-128-128-10/b64 pytorch_samples_per_s=N
"""
import sys
import time

import torch
from torch import nn


def mlp(widths, classes):
    layers = []
    for fan_in, fan_out in zip(widths, widths[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    layers.append(nn.Linear(widths[-1], classes))
    return nn.Sequential(*layers)


def throughput(config, model, loss_fn, samples, batch, classification, device):
    torch.manual_seed(0)
    features = torch.rand(samples, 784, device=device)
    if classification:
        targets = torch.randint(0, 10, (samples,), device=device)
    else:
        targets = torch.rand(samples, 1, device=device)
    model = model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def epoch():
        order = torch.randperm(samples, device=device)
        for first in range(0, samples, batch):
            rows = order[first:first + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(features[rows]), targets[rows])
            loss.backward()
            optimizer.step()

    epoch()
    torch.cuda.synchronize()
    start = time.perf_counter()
    epoch()
    epoch()
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    print(f"throughput config={config} pytorch_samples_per_s={2 * samples / seconds:.0f}", flush=True)


def main():
    device = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 throughout, as FusedNets computes
    torch.backends.cudnn.allow_tf32 = False
    print(f"pytorch {torch.__version__} device=\"{torch.cuda.get_device_name()}\"", flush=True)
    ce, mse = nn.CrossEntropyLoss(), nn.MSELoss()
    throughput("784-128-128-10/b64", mlp([784, 128, 128], 10), ce, 60_000, 64, True, device)
    throughput("784-128-128-10/b4096", mlp([784, 128, 128], 10), ce, 61_440, 4096, True, device)
    throughput("784-64-64-64-64-1/b16384", mlp([784, 64, 64, 64, 64], 1), mse, 65_536, 16_384, False, device)
    throughput("784-1024-1024-10/b4096", mlp([784, 1024, 1024], 10), ce, 61_440, 4096, True, device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
