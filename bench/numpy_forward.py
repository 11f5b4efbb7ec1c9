"""The bench's forward pass in numpy, on the weights bench/forward.ts wrote (bench/weights.ts).

    python3 bench/numpy_forward.py DIR [--reps R] [--warmup W] [--no-margins]

Computes what the fast path computes for every input: the residual network of simulators/model.ts
(embedding, stages of looped layers, heads summed then added, ReLU MLP, readout at the last or at
every position), hard attention as the average over tied best scores, softmax stabilised by the
max, and by default the same margins (smallest best-minus-second attention gap, tied sites, logit
gap). Dense float64 throughout, batched over the inputs (B × n × d). Prints one JSON line: the
seconds of each timed rep, the BLAS numpy uses and its threads; writes DIR/logits.bin (float64).
"""
import json
import os
import sys
import time

import numpy as np


def blas_info():
    """Which BLAS numpy calls, its threads and core type (threadpoolctl if present, else numpy's config)."""
    try:
        from threadpoolctl import threadpool_info  # type: ignore

        libs = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, {i.get('num_threads')} threads)" for i in threadpool_info()]
        return "; ".join(libs)
    except ImportError:
        pass
    text = "unknown"
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        text = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older numpy: no dict mode
        pass
    # OpenBLAS reports its threads and the kernel it picked through its own C API.
    try:
        import ctypes

        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line}
        for p in paths:
            lib = ctypes.CDLL(p)
            for prefix in ("scipy_openblas_", "openblas_", ""):
                for suffix in ("64_", ""):
                    get_threads = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None) or getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                    corename = getattr(lib, f"{prefix}openblas_get_corename{suffix}", None) or getattr(lib, f"{prefix}get_corename{suffix}", None)
                    if get_threads and corename:
                        corename.restype = ctypes.c_char_p
                        return f"{text}, core {corename().decode()}, {get_threads()} threads"
    except Exception:
        pass
    return text


def load(d):
    header = json.load(open(os.path.join(d, "model.json")))
    raw = np.fromfile(os.path.join(d, "weights.bin"), dtype="<f8")

    def arr(ref):
        size = int(np.prod(ref["shape"]))
        return raw[ref["offset"] : ref["offset"] + size].reshape(ref["shape"])

    layers = []
    for layer in header["layers"]:
        heads = layer["heads"]
        plan = {"heads": [], "mlp": None}
        if heads:
            # Q, K, V of every head side by side: one product per layer, as the fast path does.
            blocks = []
            off = 0
            for h in heads:
                dqk = h["Wq"]["shape"][1]
                dov = h["Wv"]["shape"][1]
                blocks += [arr(h["Wq"]), arr(h["Wk"]), arr(h["Wv"])]
                plan["heads"].append(
                    dict(kind=h["kind"], causal=h["causal"], scale=h["scale"], q=(off, off + dqk), k=(off + dqk, off + 2 * dqk), v=(off + 2 * dqk, off + 2 * dqk + dov))
                )
                off += 2 * dqk + dov
            plan["Wqkv"] = np.ascontiguousarray(np.concatenate(blocks, axis=1))
            plan["Wo"] = np.ascontiguousarray(np.concatenate([arr(h["Wo"]) for h in heads], axis=0))
        if layer["mlp"]:
            m = layer["mlp"]
            plan["mlp"] = (arr(m["Win"]), arr(m["bin"]), arr(m["Wout"]), arr(m["bout"]))
        layers.append(plan)
    tokens = arr(header["tokens"]).astype(np.int64)
    return header, arr(header["E"]), arr(header["P"]), arr(header["U"]), layers, tokens


def forward(header, E, P, U, layers, tokens, margins=True):
    B, n = tokens.shape
    x = E[tokens] + P[:n][None, :, :]
    causal_mask = np.tril(np.ones((n, n), dtype=bool))
    min_gap = np.full(B, np.inf)
    ties = np.zeros(B, dtype=np.int64)
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
                        s = q @ k.transpose(0, 2, 1)
                        if h["scale"] != 1:
                            s *= h["scale"]
                        if h["causal"]:
                            s = np.where(causal_mask, s, -np.inf)
                        best = s.max(axis=2, keepdims=True)
                        eq = s == best
                        if margins or h["kind"] == "hard":
                            count = eq.sum(axis=2)
                        if margins:
                            second = np.where(eq, -np.inf, s).max(axis=2)
                            keys = np.arange(1, n + 1) if h["causal"] else np.full(n, n)
                            gap = np.where(count > 1, 0.0, best[:, :, 0] - second)
                            gap = np.where(keys[None, :] > 1, gap, np.inf)
                            min_gap = np.minimum(min_gap, gap.min(axis=1))
                            ties += ((count > 1) & (keys[None, :] > 1)).sum(axis=1)
                        if h["kind"] == "hard":
                            w = eq / count[:, :, None]
                        else:
                            w = np.exp(s - best)
                            w /= w.sum(axis=2, keepdims=True)
                        outs.append(w @ v)
                    x = x + np.concatenate(outs, axis=2) @ layer["Wo"]
                if layer["mlp"]:
                    Win, bin_, Wout, bout = layer["mlp"]
                    x = x + (np.maximum(x @ Win + bin_, 0) @ Wout + bout)
    logits = x[:, -1:, :] @ U if header["readout"] == "last" else x @ U
    if margins:
        top = np.sort(logits, axis=2)
        logit_gap = (top[:, :, -1] - top[:, :, -2]).min(axis=1) if logits.shape[2] > 1 else np.full(B, np.inf)
        answers = logits[:, -1, :].argmax(axis=1)
        return logits, (min_gap, ties, logit_gap, answers)
    return logits, None


def main():
    d = sys.argv[1]
    args = sys.argv[2:]
    reps = int(args[args.index("--reps") + 1]) if "--reps" in args else 5
    warmup = int(args[args.index("--warmup") + 1]) if "--warmup" in args else 1
    margins = "--no-margins" not in args
    # --chunk C runs the inputs C at a time (attention scores are B × n × n: 10,000 inputs of
    # length 257 would need 5 GB at once); the time is that of the whole set.
    chunk = int(args[args.index("--chunk") + 1]) if "--chunk" in args else None
    header, E, P, U, layers, tokens = load(d)

    def run_all():
        if chunk is None:
            return forward(header, E, P, U, layers, tokens, margins)
        parts = [forward(header, E, P, U, layers, tokens[i : i + chunk], margins) for i in range(0, tokens.shape[0], chunk)]
        logits = np.concatenate([p[0] for p in parts], axis=0)
        m = None if parts[0][1] is None else tuple(np.concatenate([p[1][k] for p in parts]) for k in range(4))
        return logits, m

    for _ in range(warmup):
        run_all()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        logits, m = run_all()
        times.append(time.perf_counter() - t)
    np.ascontiguousarray(logits, dtype="<f8").tofile(os.path.join(d, "logits.bin"))
    out = {"times": times, "blas": blas_info(), "numpy": np.__version__, "batch": int(tokens.shape[0])}
    if m is not None:
        out["attention_margin"] = [float(v) for v in m[0]]
        out["attention_ties"] = [int(v) for v in m[1]]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
