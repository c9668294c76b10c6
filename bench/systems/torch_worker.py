"""PyTorch on the CPU as a system of webgrad's bench (torch-cpu).

Started by bench/systems/torch.ts, one process per workload, and fed the
arrays every other system gets, through files in a temporary folder: the
initial weights (Keras' layouts) and the samples in the bench's order. It
builds the workload's network with torch.nn, copies the weights in (torch's
layouts: Linear [out, in], Conv2d [cout, cin, kh, kw], LSTM [4U, F] whose
gate order i, f, g, o is Keras' i, f, c, o; W7's GPT in torch_gpt.py, its
weights named as webgrad names them), and trains when told to.

Protocol: one JSON object a line on stdin, one reply a line on stdout.
  {"cmd": "init", "workload": {...}, "weights": [{"file", "shape"(, "name": W7's)}...], "threads": 2}
      -> {"ready": true, "torch": "1.13.0", "threads": 2}
  {"cmd": "train", "x": file, "y": file, "yType": "int32" | "float32", "n": n, "epochs": e}
      -> {"loss": mean per-sample loss, "seconds": wall, "cpuSeconds": CPU of all threads}
The timed region is the training loop only (the arrays are read from their
files before it, once per file): batches sliced from the arrays in order,
forward, loss, backward, optimizer step; the loss summed as a tensor and read
once at the end of each epoch, as webgrad's fit() does.
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from torch_gpt import GPT

LEARNING_RATE = 1e-3
# Keras' Adam defaults; torch adds eps to sqrt(v_hat), as tfjs and the webgrad trainer (epsilonHat: false) do.
ADAM = dict(lr=LEARNING_RATE, betas=(0.9, 0.999), eps=1e-7)


def load(spec):
    return torch.from_numpy(np.fromfile(spec["file"], dtype=np.float32).reshape(spec["shape"]).copy())


class Net(nn.Module):
    """The workload's network: conv blocks or an LSTM, then Dense layers (ReLU between; W5: tanh between and last)."""

    def __init__(self, w, weights):
        super().__init__()
        self.w = w
        arrays = iter(weights)
        self.convs = nn.ModuleList()
        self.pools = []
        for block in (w.get("conv") or {}).get("blocks", []):
            k, b = load(next(arrays)), load(next(arrays))
            conv = nn.Conv2d(k.shape[2], k.shape[3], k.shape[0])
            with torch.no_grad():
                conv.weight.copy_(k.permute(3, 2, 0, 1))  # [kh, kw, cin, cout] -> [cout, cin, kh, kw]
                conv.bias.copy_(b)
            self.convs.append(conv)
            self.pools.append(block["pool"])
        self.lstm = None
        if w.get("lstm"):
            s = w["lstm"]
            kernel, recurrent, bias = load(next(arrays)), load(next(arrays)), load(next(arrays))
            self.lstm = nn.LSTM(s["features"], s["units"], batch_first=True)
            with torch.no_grad():
                self.lstm.weight_ih_l0.copy_(kernel.t())
                self.lstm.weight_hh_l0.copy_(recurrent.t())
                # Keras has one bias; torch adds bias_ih and bias_hh: all of it in the first, zeros in the second.
                self.lstm.bias_ih_l0.copy_(bias)
                self.lstm.bias_hh_l0.zero_()
        self.dense = nn.ModuleList()
        for _ in range(len(w["layers"]) - 1):
            k, b = load(next(arrays)), load(next(arrays))
            lin = nn.Linear(k.shape[0], k.shape[1])
            with torch.no_grad():
                lin.weight.copy_(k.t())
                lin.bias.copy_(b)
            self.dense.append(lin)

    def forward(self, x):
        h = x
        if self.convs:
            h = h.permute(0, 3, 1, 2)  # NHWC -> NCHW
            for conv, pool in zip(self.convs, self.pools):
                h = F.max_pool2d(F.relu(conv(h)), pool)
            h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)  # flatten in NHWC order, as webgrad and tfjs
        if self.lstm is not None:
            _, (hn, _) = self.lstm(h)
            h = hn[-1]
        playground = self.w.get("playground")
        for i, lin in enumerate(self.dense):
            h = lin(h)
            if playground:
                h = torch.tanh(h)
            elif i < len(self.dense) - 1:
                h = F.relu(h)
        return h


def sample_shape(w):
    if w.get("gpt"):
        return [w["gpt"]["context"]]
    if w.get("conv"):
        return list(w["conv"]["input"])
    if w.get("lstm"):
        return [w["lstm"]["steps"], w["lstm"]["features"]]
    return [w["layers"][0]]


class Worker:
    def __init__(self, msg):
        self.w = msg["workload"]
        gpt = self.w.get("gpt")
        self.net = GPT(gpt, msg["weights"], load) if gpt else Net(self.w, msg["weights"])
        playground = self.w.get("playground")
        self.opt = torch.optim.SGD(self.net.parameters(), lr=msg["sgdLearningRate"]) if playground else torch.optim.Adam(self.net.parameters(), **ADAM)
        if playground:
            self.loss = lambda out, y: F.mse_loss(out, y.view(-1, 1))
        elif gpt:
            # Every step's next character: the mean over the batch's tokens, as webgrad's sparse cross-entropy on [n, context] labels.
            self.loss = lambda out, y: F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        else:
            self.loss = F.cross_entropy
        self.files = {}

    def array(self, path, dtype, shape):
        if path not in self.files:
            self.files[path] = torch.from_numpy(np.fromfile(path, dtype=dtype).reshape(shape))
        return self.files[path]

    def train(self, msg):
        n, batch = msg["n"], self.w["batch"]
        gpt = self.w.get("gpt")
        x = self.array(msg["x"], np.float32, [n] + sample_shape(self.w))
        if gpt:
            x = self.files.setdefault(msg["x"] + "#long", x.long())  # W7's samples are character ids
        y = self.array(msg["y"], np.int32 if msg["yType"] == "int32" else np.float32, [n] + ([gpt["context"]] if gpt else []))
        if msg["yType"] == "int32":
            y = self.files.setdefault(msg["y"] + "#long", y.long())
        t0, c0 = time.perf_counter(), time.process_time()
        total = 0.0
        for _ in range(msg["epochs"]):
            epoch = torch.zeros(())
            for b in range(0, n, batch):
                xb, yb = x[b:b + batch], y[b:b + batch]
                self.opt.zero_grad(set_to_none=True)
                cost = self.loss(self.net(xb), yb)
                cost.backward()
                self.opt.step()
                epoch += cost.detach() * xb.shape[0]
            total += float(epoch)
        return {"loss": total / (n * msg["epochs"]), "seconds": time.perf_counter() - t0, "cpuSeconds": time.process_time() - c0}


def main():
    worker = None
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        try:
            if msg["cmd"] == "init":
                torch.set_num_threads(int(msg["threads"]))
                torch.manual_seed(0)
                worker = Worker(msg)
                reply = {"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}
            elif msg["cmd"] == "train":
                if worker is None:
                    raise RuntimeError("train before init")
                reply = worker.train(msg)
            else:
                raise ValueError(f"unknown command {msg['cmd']!r}")
        except Exception as e:  # reported to the bench, which names the job that failed
            reply = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
