"""Load a looped model exported as safetensors and run its forward pass, with numpy only.

    python3 tools/looped_numpy.py MODEL.safetensors --input '["#","[1,0,2]","[2,1,0]"]'
    python3 tools/looped_numpy.py MODEL.safetensors --inputs FILE.json    # a JSON array of inputs

Tokens are the model's vocabulary strings (metadata `vocab`) or their indices. Prints JSON: for each
readout position the logits, the tokens tied for the top logit, and the argmax (null on a tie,
which is never broken silently). As a module:

    import looped_numpy as ln
    model = ln.load("b4.safetensors")
    out = ln.forward(model, ["1", "2", "3"])       # or token ids
    out["answer"], out["readouts"][-1]["logits"]

The forward pass is the one of looped's simulators/forward.ts, in float64: x_i = W_E[v_i] + W_pos[i];
per layer x += sum of the heads' outputs, then x += W_out relu(x W_in + b_in) + b_out; scores are
scale * <q_i, k_j> with no 1/sqrt(d) (causal heads see j <= i); hard attention averages the keys
whose score EXACTLY ties for the best, softmax subtracts the best score first; a stage with a mask
keeps x_i from before the loop where M^t(i) is false; logits x_i W_U at the last position or at
every one. Every product sums over its inner index in order, as looped's float64 interpreter does,
so hard-attention models give bit-identical results (softmax may differ in the last bit of exp).

Masks are mathjs expressions in i (0-based position), t (1-based loop of the stage), T (loops of
the stage) and len (sequence length). This file evaluates the usual forms: numbers, + - * / ^ mod %,
comparisons (chained like mathjs), and or xor not, ? :, true/false and floor ceil round abs sign
min max mod sqrt log2 log10 pow. Anything else is refused with an error that says so.
"""

import json
import math
import re
import struct
import sys
from fractions import Fraction

import numpy as np

FORMAT = "looped/1"
_DTYPES = {"F64": ("<f8", 8), "F32": ("<f4", 4)}


class LoadError(ValueError):
    """The file is not a looped safetensors model (truncated, malformed, or a field is wrong)."""


class InputError(ValueError):
    """A token outside the vocabulary, or an input the positions do not cover."""


# ------------------------------------------------------------------ safetensors


def read_safetensors(path):
    """(tensors {name: float64 ndarray}, metadata {str: str}), checking offsets, dtypes and shapes."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise LoadError(f"{path}: truncated ({len(data)} bytes, fewer than the 8-byte header length)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise LoadError(f"{path}: header length {n} is beyond the file ({len(data)} bytes)")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise LoadError(f"{path}: the header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise LoadError(f"{path}: the header is not a JSON object")
    metadata = header.pop("__metadata__", {}) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise LoadError(f"{path}: __metadata__ must map strings to strings")
    buf = memoryview(data)[8 + n :]
    tensors = {}
    spans = []
    for name, info in header.items():
        if not isinstance(info, dict):
            raise LoadError(f"{path}: tensor {name!r} is not an object")
        dtype = info.get("dtype")
        if dtype not in _DTYPES:
            raise LoadError(f"{path}: tensor {name!r} has dtype {dtype!r}; this script reads F64 and F32")
        shape = info.get("shape")
        offsets = info.get("data_offsets")
        if not (isinstance(shape, list) and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in shape)):
            raise LoadError(f"{path}: tensor {name!r} has a bad shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in offsets)):
            raise LoadError(f"{path}: tensor {name!r} has bad data_offsets {offsets!r}")
        begin, end = offsets
        code, size = _DTYPES[dtype]
        count = math.prod(shape)
        if not (0 <= begin <= end <= len(buf)) or end - begin != count * size:
            raise LoadError(f"{path}: tensor {name!r} data_offsets {offsets} do not fit shape {shape} of {dtype} in a {len(buf)}-byte buffer")
        spans.append((begin, end, name))
        tensors[name] = np.frombuffer(buf[begin:end], dtype=code).astype(np.float64).reshape(shape)
    pos = 0
    for begin, end, name in sorted(spans):
        if begin != pos:
            raise LoadError(f"{path}: tensor {name!r} at {begin} {'overlaps the one before' if begin < pos else 'leaves a gap'}")
        pos = end
    if pos != len(buf):
        raise LoadError(f"{path}: {len(buf) - pos} bytes after the last tensor")
    for name, t in tensors.items():
        if not np.all(np.isfinite(t)):
            raise LoadError(f"{path}: tensor {name!r} holds NaN or infinite weights")
    return tensors, metadata


# ------------------------------------------------------------------ masks (a small mathjs subset)

_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|[-+*/^%<>()?:,!]))")
_FUNCS = {
    "floor": (1, math.floor),
    "ceil": (1, math.ceil),
    "round": (1, lambda x: math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)),
    "abs": (1, abs),
    "sign": (1, lambda x: (x > 0) - (x < 0)),
    "sqrt": (1, math.sqrt),
    "log2": (1, math.log2),
    "log10": (1, math.log10),
    "min": (None, min),
    "max": (None, max),
    "mod": (2, lambda a, b: _mod(a, b)),
    "pow": (2, lambda a, b: a**b),
}
_REL_TOL, _ABS_TOL = 1e-12, 1e-15  # mathjs's defaults for comparing numbers


def _num(x):
    return float(x) if isinstance(x, bool) else x


def _mod(a, b):
    a, b = _num(a), _num(b)
    return a if b == 0 else a - b * math.floor(a / b)


def _near(a, b):
    a, b = _num(a), _num(b)
    return a == b or abs(a - b) <= max(_REL_TOL * max(abs(a), abs(b)), _ABS_TOL)


def _div(a, b):
    a, b = _num(a), _num(b)
    if b == 0:
        return math.nan if a == 0 else math.copysign(math.inf, a)
    return a / b


_BINARY = {
    "+": lambda a, b: _num(a) + _num(b),
    "-": lambda a, b: _num(a) - _num(b),
    "*": lambda a, b: _num(a) * _num(b),
    "/": _div,
    "%": _mod,
    "mod": _mod,
    "^": lambda a, b: _num(a) ** _num(b),
    "==": _near,
    "!=": lambda a, b: not _near(a, b),
    "<": lambda a, b: _num(a) < _num(b) and not _near(a, b),
    ">": lambda a, b: _num(a) > _num(b) and not _near(a, b),
    "<=": lambda a, b: _num(a) <= _num(b) or _near(a, b),
    ">=": lambda a, b: _num(a) >= _num(b) or _near(a, b),
    "and": lambda a, b: bool(a) and bool(b),
    "or": lambda a, b: bool(a) or bool(b),
    "xor": lambda a, b: bool(a) != bool(b),
}


class MaskError(ValueError):
    """A mask expression this script cannot evaluate, or one whose value is not true/false or 0/1."""


class Mask:
    """M^t(i) of a stage: a parsed expression in i, t, T and len."""

    def __init__(self, expr):
        self.expr = expr
        self._toks = self._tokenize(expr)
        self._k = 0
        self.tree = self._cond()
        if self._k != len(self._toks):
            self._refuse(f"unexpected {self._toks[self._k][1]!r}")

    def _refuse(self, why):
        raise MaskError(f"mask {self.expr!r}: {why}; this script evaluates numbers, i t T len, + - * / ^ mod, comparisons, and or xor not, ? : and "
                        f"{', '.join(sorted(_FUNCS))} — run the model with `looped run --model` instead")

    def _tokenize(self, s):
        toks, pos = [], 0
        while pos < len(s):
            if s[pos:].strip() == "":
                break
            m = _TOKEN.match(s, pos)
            if not m:
                self.expr = s
                self._refuse(f"cannot read {s[pos:].strip()[:10]!r}")
            if m.group(1):
                toks.append(("num", float(m.group(1))))
            elif m.group(2):
                toks.append(("name", m.group(2)))
            else:
                toks.append(("op", m.group(3)))
            pos = m.end()
        return toks

    def _peek(self):
        return self._toks[self._k] if self._k < len(self._toks) else ("end", None)

    def _eat(self, kind, value=None):
        tok = self._peek()
        if tok[0] == kind and (value is None or tok[1] == value):
            self._k += 1
            return tok
        return None

    def _expect(self, value):
        if not self._eat("op", value):
            self._refuse(f"expected {value!r} but found {self._peek()[1]!r}")

    def _word(self, *words):
        tok = self._peek()
        if tok[0] == "name" and tok[1] in words:
            self._k += 1
            return tok[1]
        return None

    def _cond(self):
        c = self._binary_chain(0)
        if self._eat("op", "?"):
            a = self._cond()
            self._expect(":")
            b = self._cond()
            return ("if", c, a, b)
        return c

    _LEVELS = [("word", ("or",)), ("word", ("xor",)), ("word", ("and",))]

    def _binary_chain(self, level):
        if level == len(self._LEVELS):
            return self._relational()
        left = self._binary_chain(level + 1)
        while True:
            w = self._word(*self._LEVELS[level][1])
            if not w:
                return left
            left = ("bin", w, left, self._binary_chain(level + 1))

    def _relational(self):
        first = self._additive()
        parts, ops = [first], []
        while self._peek()[0] == "op" and self._peek()[1] in ("==", "!=", "<", ">", "<=", ">="):
            ops.append(self._toks[self._k][1])
            self._k += 1
            parts.append(self._additive())
        if not ops:
            return first
        node = ("bin", ops[0], parts[0], parts[1])
        for k in range(1, len(ops)):  # a < b < c is a < b and b < c, as in mathjs
            node = ("bin", "and", node, ("bin", ops[k], parts[k], parts[k + 1]))
        return node

    def _additive(self):
        left = self._multiplicative()
        while self._peek()[0] == "op" and self._peek()[1] in ("+", "-"):
            op = self._toks[self._k][1]
            self._k += 1
            left = ("bin", op, left, self._multiplicative())
        return left

    def _multiplicative(self):
        left = self._unary()
        while True:
            tok = self._peek()
            if tok[0] == "op" and tok[1] in ("*", "/", "%"):
                self._k += 1
                left = ("bin", tok[1], left, self._unary())
            elif self._word("mod"):
                left = ("bin", "mod", left, self._unary())
            else:
                return left

    def _unary(self):
        if self._eat("op", "-"):
            return ("neg", self._unary())
        if self._eat("op", "+"):
            return self._unary()
        if self._word("not"):
            return ("not", self._unary())
        return self._power()

    def _power(self):
        base = self._primary()
        if self._eat("op", "^"):
            return ("bin", "^", base, self._unary())  # right-associative; 2^-1 is allowed
        if self._peek() == ("op", "!"):
            self._refuse("factorial is not supported")
        return base

    def _primary(self):
        tok = self._peek()
        if tok[0] == "num":
            self._k += 1
            return ("const", tok[1])
        if self._eat("op", "("):
            node = self._cond()
            self._expect(")")
            return node
        if tok[0] == "name":
            self._k += 1
            name = tok[1]
            if name in ("true", "false"):
                return ("const", name == "true")
            if self._eat("op", "("):
                if name not in _FUNCS:
                    self._refuse(f"function {name}() is not supported")
                args = [self._cond()]
                while self._eat("op", ","):
                    args.append(self._cond())
                self._expect(")")
                arity = _FUNCS[name][0]
                if arity is not None and len(args) != arity:
                    self._refuse(f"{name}() takes {arity} arguments, got {len(args)}")
                return ("call", name, args)
            if name in ("i", "t", "T", "len"):
                return ("var", name)
            self._refuse(f"unknown name {name!r} (the scope is i, t, T, len)")
        self._refuse(f"unexpected {tok[1]!r}" if tok[0] != "end" else "the expression ends too early")

    def _eval(self, node, scope):
        kind = node[0]
        if kind == "const":
            return node[1]
        if kind == "var":
            return scope[node[1]]
        if kind == "neg":
            return -_num(self._eval(node[1], scope))
        if kind == "not":
            return not self._eval(node[1], scope)
        if kind == "if":
            return self._eval(node[2] if self._eval(node[1], scope) else node[3], scope)
        if kind == "call":
            return _FUNCS[node[1]][1](*[_num(self._eval(a, scope)) for a in node[2]])
        return _BINARY[node[1]](self._eval(node[2], scope), self._eval(node[3], scope))

    def row(self, t, loops, n):
        """Booleans over positions 0..n-1: True where position i is recomputed in loop t."""
        out = []
        for i in range(n):
            v = self._eval(self.tree, {"i": i, "t": t, "T": loops, "len": n})
            if isinstance(v, bool):
                out.append(v)
            elif isinstance(v, (int, float)) and v in (0, 1):
                out.append(v == 1)
            else:
                raise MaskError(f"mask {self.expr!r} gave {v!r} at i={i}, t={t}; it must be true/false or 0/1")
        return np.array(out, dtype=bool)


# ------------------------------------------------------------------ the model


def _meta_json(metadata, key, path):
    if key not in metadata:
        raise LoadError(f"{path}: __metadata__.{key} is missing")
    try:
        return json.loads(metadata[key])
    except ValueError as e:
        raise LoadError(f"{path}: __metadata__.{key} is not JSON ({e})") from None


def _scale(v):
    if isinstance(v, str):
        return float(Fraction(v.replace(" ", "")))
    return float(v)


def load(path):
    """A dict describing the model: vocab, readout, W_E, W_pos, W_U and its stages of layers."""
    tensors, md = read_safetensors(path)
    if md.get("format") != FORMAT:
        raise LoadError(f"{path}: __metadata__.format is {md.get('format')!r}; this script reads {FORMAT!r}")

    def tensor(name, ndim):
        if name not in tensors:
            raise LoadError(f"{path}: tensor {name!r} is missing")
        t = tensors[name]
        if t.ndim != ndim:
            raise LoadError(f"{path}: tensor {name!r} has shape {list(t.shape)}, expected {ndim} dimensions")
        return t

    vocab = _meta_json(md, "vocab", path)
    stages_md = _meta_json(md, "stages", path)
    attention = _meta_json(md, "attention", path)
    mlps = _meta_json(md, "mlp", path)
    W_E = tensor("embed.W_E", 2)
    V, d = W_E.shape
    model = {
        "name": md.get("name", ""),
        "vocab": vocab,
        "readout": md.get("readout", "last"),
        "W_E": W_E,
        "W_pos": tensor("pos_embed.W_pos", 2),
        "W_U": tensor("unembed.W_U", 2),
        "residual_labels": _meta_json(md, "residual_labels", path),
        "stages": [],
    }
    if len(vocab) != V or model["W_U"].shape != (d, V) or model["W_pos"].shape[1] != d:
        raise LoadError(f"{path}: embed/unembed shapes disagree with the vocabulary ({V} tokens) or the width ({d})")
    if model["readout"] not in ("last", "all"):
        raise LoadError(f"{path}: __metadata__.readout is {model['readout']!r}; it must be last or all")
    for s, st in enumerate(stages_md):
        layers = []
        for l in range(st["layers"]):
            heads = []
            specs = attention[s][l]
            if specs:
                pre = f"stages.{s}.blocks.{l}.attn."
                Q, K, Vv, O = (tensor(pre + w, 3) for w in ("W_Q", "W_K", "W_V", "W_O"))
                for k, h in enumerate(specs):
                    dqk, dov = h["d_qk"], h["d_ov"]
                    heads.append({
                        "name": h["name"],
                        "kind": h["kind"],
                        "scale": _scale(h["scale"]),
                        "causal": bool(h["causal"]),
                        "W_Q": Q[k, :, :dqk],
                        "W_K": K[k, :, :dqk],
                        "W_V": Vv[k, :, :dov],
                        "W_O": O[k, :dov, :],
                    })
                    if h["kind"] not in ("hard", "softmax"):
                        raise LoadError(f"{path}: head {h['name']!r} has attention kind {h['kind']!r}")
            mlp = None
            if mlps[s][l] is not None:
                pre = f"stages.{s}.blocks.{l}.mlp."
                mlp = {"W_in": tensor(pre + "W_in", 2), "b_in": tensor(pre + "b_in", 1), "W_out": tensor(pre + "W_out", 2), "b_out": tensor(pre + "b_out", 1)}
            layers.append({"heads": heads, "mlp": mlp})
        mask = st.get("mask")
        model["stages"].append({"loops": st["loops"], "layers": layers, "mask": Mask(mask["expr"]) if mask else None})
    return model


# ------------------------------------------------------------------ the forward pass


def _matmul(x, W):
    """x @ W summing over the inner index in order (what looped's float64 interpreter does)."""
    y = np.zeros((x.shape[0], W.shape[1]))
    for r in range(W.shape[0]):
        y += x[:, r : r + 1] * W[r]
    return y


def _ordered_sum(v):
    return np.cumsum(v)[-1] if len(v) else 0.0


def _head(h, x, out):
    n = x.shape[0]
    q, k, v = _matmul(x, h["W_Q"]), _matmul(x, h["W_K"]), _matmul(x, h["W_V"])
    scores = np.zeros((n, n))
    for c in range(q.shape[1]):
        scores += q[:, c : c + 1] * k[:, c][None, :]
    if h["scale"] != 1:
        scores = h["scale"] * scores
    pattern = np.zeros((n, n))
    for i in range(n):
        last = i if h["causal"] else n - 1
        s = scores[i, : last + 1]
        best = s.max()
        if h["kind"] == "hard":
            tied = s == best
            w = np.where(tied, 1.0 / np.count_nonzero(tied), 0.0)
        else:
            e = np.exp(s - best)
            w = e / _ordered_sum(e)
        pattern[i, : last + 1] = w
        o = np.zeros(v.shape[1])
        for j in range(last + 1):
            if w[j] != 0:
                o += w[j] * v[j]
        W_O = h["W_O"]
        for r in range(W_O.shape[0]):  # into out[i] directly: heads add up in order, as in looped
            out[i] += o[r] * W_O[r]
    return pattern


def forward(model, tokens, return_residual=False):
    """Runs the model on one input (vocabulary strings or ids); logits and argmax per readout position."""
    vocab = model["vocab"]
    ids = []
    for pos, t in enumerate(tokens):
        if isinstance(t, str):
            if t not in vocab:
                raise InputError(f"token {t!r} at position {pos} is not in the vocabulary ({', '.join(vocab[:12])}{', …' if len(vocab) > 12 else ''})")
            ids.append(vocab.index(t))
        elif isinstance(t, int) and not isinstance(t, bool) and 0 <= t < len(vocab):
            ids.append(t)
        else:
            raise InputError(f"token {t!r} at position {pos} is neither a vocabulary string nor an index 0..{len(vocab) - 1}")
    n = len(ids)
    if n == 0:
        raise InputError("the input is empty")
    if n > model["W_pos"].shape[0]:
        raise InputError(f"the input has {n} tokens but the position embedding covers {model['W_pos'].shape[0]}")
    x = model["W_E"][ids] + model["W_pos"][:n]
    for st in model["stages"]:
        for t in range(1, st["loops"] + 1):
            before = x
            x = x.copy()
            for layer in st["layers"]:
                if layer["heads"]:
                    out = np.zeros_like(x)
                    for h in layer["heads"]:
                        _head(h, x, out)
                    x = x + out
                m = layer["mlp"]
                if m is not None:
                    hidden = np.maximum(_matmul(x, m["W_in"]) + m["b_in"], 0.0)
                    x = x + (_matmul(hidden, m["W_out"]) + m["b_out"])
            if st["mask"] is not None:
                keep = st["mask"].row(t, st["loops"], n)
                x = np.where(keep[:, None], x, before)
    positions = list(range(n)) if model["readout"] == "all" else [n - 1]
    readouts = []
    for p in positions:
        logits = _matmul(x[p : p + 1], model["W_U"])[0]
        top = [int(k) for k in np.flatnonzero(logits == logits.max())]
        arg = top[0] if len(top) == 1 else None
        readouts.append({
            "position": p,
            "logits": [float(z) for z in logits],
            "top": [vocab[k] for k in top],
            "argmax": arg,
            "token": vocab[arg] if arg is not None else None,
        })
    result = {"tokens": ids, "answer": readouts[-1]["token"], "readouts": readouts}
    if return_residual:
        result["residual"] = x
    return result


# ------------------------------------------------------------------ command line


def main(argv):
    import argparse

    ap = argparse.ArgumentParser(description="Run a looped model exported as safetensors (numpy only).")
    ap.add_argument("model", help="MODEL.safetensors, written by `looped export … --format safetensors`")
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--input", help='JSON array of tokens: vocabulary strings or ids, e.g. \'["#","[1,0,2]"]\'')
    group.add_argument("--inputs", help="a file holding a JSON array of such inputs (prints a JSON array of results)")
    args = ap.parse_args(argv)
    try:
        model = load(args.model)
        if args.input is not None:
            try:
                tokens = json.loads(args.input)
            except ValueError:
                raise InputError(f"--input must be a JSON array of tokens, got {args.input!r}") from None
            if not isinstance(tokens, list):
                raise InputError("--input must be a JSON array of tokens")
            print(json.dumps(forward(model, tokens)))
        else:
            with open(args.inputs) as f:
                batch = json.load(f)
            print(json.dumps([forward(model, tokens) for tokens in batch]))
    except (LoadError, InputError, MaskError, OSError, KeyError, TypeError, IndexError) as e:
        what = f"metadata field {e} is missing or malformed" if isinstance(e, (KeyError, TypeError, IndexError)) else str(e)
        print(f"looped_numpy: {what}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
