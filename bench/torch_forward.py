"""The gpu benchmark's forward pass in PyTorch, on the weights bench/gpu.ts exported.

    python3 bench/torch_forward.py DIR [--device cuda|cpu] [--batches 1,4,...] [--no-margins]

DIR holds model.json + weights.bin (bench/weights.ts: raw little-endian float64 arrays and a JSON
header saying where each sits) and bench.json (batch sizes, time budget, FLOPs per input). The
forward pass is the one of simulators/model.ts and gpu/kernels.ts, in float32 (TF32 off): embedding,
stages of looped layers, heads summed then added, hard attention as the average over tied best
scores, softmax stabilised by the max, ReLU MLP, readout at the last or every position, and by
default the same margins the gpu interpreter returns (smallest best-minus-second attention gap,
tied sites, logit gap, argmax). Dense throughout, batched (B × n × d).

Prints JSON lines: one header ({"torch": version, "device": name, "answers": first answers}), then
one per batch size ({"batch": B, "seconds": median time per call, "device": ...}). Exits 0 with a
header line saying why when torch is missing, so the caller can report it.
"""
import json
import os
import sys
import time

try:
    import numpy as np
except ImportError:  # pragma: no cover
    print(json.dumps({"note": "numpy is not installed"}))
    sys.exit(0)

try:
    import torch
except ImportError:
    print(json.dumps({"note": "torch is not installed for " + sys.executable}))
    sys.exit(0)


def load(d, device):
    header = json.load(open(os.path.join(d, "model.json")))
    raw = np.fromfile(os.path.join(d, "weights.bin"), dtype="<f8")

    def arr(ref):
        size = int(np.prod(ref["shape"]))
        return raw[ref["offset"] : ref["offset"] + size].reshape(ref["shape"])

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(device)

    layers = []
    for layer in header["layers"]:
        heads = layer["heads"]
        plan = {"heads": [], "mlp": None}
        if heads:
            blocks = []
            off = 0
            for h in heads:
                dqk = h["Wq"]["shape"][1]
                dov = h["Wv"]["shape"][1]
                blocks += [arr(h["Wq"]), arr(h["Wk"]), arr(h["Wv"])]
                plan["heads"].append(
                    dict(
                        kind=h["kind"],
                        causal=h["causal"],
                        scale=float(np.float32(h["scale"])),
                        q=(off, off + dqk),
                        k=(off + dqk, off + 2 * dqk),
                        v=(off + 2 * dqk, off + 2 * dqk + dov),
                    )
                )
                off += 2 * dqk + dov
            plan["Wqkv"] = t(np.concatenate(blocks, axis=1))
            plan["Wo"] = t(np.concatenate([arr(h["Wo"]) for h in heads], axis=0))
        if layer["mlp"]:
            m = layer["mlp"]
            plan["mlp"] = (t(arr(m["Win"])), t(arr(m["bin"])), t(arr(m["Wout"])), t(arr(m["bout"])))
        layers.append(plan)
    tokens = torch.from_numpy(arr(header["tokens"]).astype(np.int64)).to(device)
    return header, t(arr(header["E"])), t(arr(header["P"])), t(arr(header["U"])), layers, tokens


@torch.inference_mode()
def forward(header, E, P, U, layers, tokens, margins=True):
    B, n = tokens.shape
    device = tokens.device
    x = E[tokens] + P[:n][None, :, :]
    causal = torch.tril(torch.ones((n, n), dtype=torch.bool, device=device))
    keys_causal = torch.arange(1, n + 1, device=device)
    ninf = torch.tensor(float("-inf"), device=device)
    min_gap = torch.full((B,), float("inf"), device=device)
    ties = torch.zeros((B,), dtype=torch.int64, device=device)
    for stage in header["stages"]:
        for _ in range(stage["loops"]):
            for li in stage["layers"]:
                layer = layers[li]
                if layer["heads"]:
                    qkv = x @ layer["Wqkv"]
                    outs = []
                    for h in layer["heads"]:
                        q = qkv[:, :, h["q"][0] : h["q"][1]]
                        k = qkv[:, :, h["k"][0] : h["k"][1]]
                        v = qkv[:, :, h["v"][0] : h["v"][1]]
                        s = q @ k.transpose(1, 2)
                        if h["scale"] != 1:
                            s = s * h["scale"]
                        if h["causal"]:
                            s = torch.where(causal, s, ninf)
                        best = s.amax(dim=2, keepdim=True)
                        eq = s == best
                        count = eq.sum(dim=2)
                        if margins:
                            second = torch.where(eq, ninf, s).amax(dim=2)
                            keys = keys_causal if h["causal"] else torch.full((n,), n, device=device)
                            gap = torch.where(count > 1, torch.zeros_like(second), best[:, :, 0] - second)
                            gap = torch.where(keys[None, :] > 1, gap, torch.full_like(gap, float("inf")))
                            min_gap = torch.minimum(min_gap, gap.amin(dim=1))
                            ties += ((count > 1) & (keys[None, :] > 1)).sum(dim=1)
                        if h["kind"] == "hard":
                            w = eq.to(s.dtype) / count[:, :, None].to(s.dtype)
                        else:
                            w = torch.exp(s - best)
                            w = w / w.sum(dim=2, keepdim=True)
                        outs.append(w @ v)
                    x = x + torch.cat(outs, dim=2) @ layer["Wo"]
                if layer["mlp"]:
                    Win, bin_, Wout, bout = layer["mlp"]
                    x = x + (torch.relu(x @ Win + bin_) @ Wout + bout)
    logits = x[:, -1:, :] @ U if header["readout"] == "last" else x @ U
    if margins:
        if logits.shape[2] > 1:
            top = torch.topk(logits, 2, dim=2).values
            logit_gap = (top[:, :, 0] - top[:, :, 1]).amin(dim=1)
        else:
            logit_gap = torch.full((B,), float("inf"), device=device)
        answers = logits[:, -1, :].argmax(dim=1)
        return logits, (min_gap, ties, logit_gap, answers)
    return logits, None


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main():
    d = sys.argv[1]
    args = sys.argv[2:]

    def opt(name, fallback):
        return args[args.index(name) + 1] if name in args else fallback

    cfg = {}
    if os.path.exists(os.path.join(d, "bench.json")):
        cfg = json.load(open(os.path.join(d, "bench.json")))
    want = opt("--device", "cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(want)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    batches = [int(b) for b in opt("--batches", ",".join(str(b) for b in cfg.get("batches", [1, 4, 16, 64, 256, 1024, 4096]))).split(",")]
    budget = float(cfg.get("budget", 20))
    min_time = float(cfg.get("minTime", 0.5))
    margins = "--no-margins" not in args
    header, E, P, U, layers, tokens = load(d, device)
    _, m = forward(header, E, P, U, layers, tokens[: min(8, tokens.shape[0])], margins)
    answers = [int(a) for a in m[3].tolist()] if m is not None else None
    print(json.dumps({"torch": torch.__version__, "device": f"{device.type}:{name}", "answers": answers}), flush=True)
    label = "cuda" if device.type == "cuda" else "cpu"
    for B in batches:
        if B > tokens.shape[0]:
            break
        tb = tokens[:B].contiguous()
        try:
            sync(device)
            t0 = time.perf_counter()
            forward(header, E, P, U, layers, tb, margins)
            sync(device)
            first = time.perf_counter() - t0
            times = []
            start = time.perf_counter()
            while len(times) < 50:
                t = time.perf_counter()
                forward(header, E, P, U, layers, tb, margins)
                sync(device)
                times.append(time.perf_counter() - t)
                if time.perf_counter() - start >= min_time or times[-1] > budget / 4:
                    break
            times.sort()
            s = times[len(times) // 2]
            note = f"{name}, float32, {'with margins' if margins else 'answers only'} (first call {first:.2f} s)"
            print(json.dumps({"batch": B, "seconds": s, "device": label, "note": note}), flush=True)
            if s > budget:
                break
        except RuntimeError as e:  # out of memory and the like: report and stop growing the batch
            print(json.dumps({"batch": B, "device": label, "note": "failed: " + str(e).split("\n")[0]}), flush=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()
            break


if __name__ == "__main__":
    main()
