#!/usr/bin/env python3
"""Reads a normalizing-flows model file (.nflow) with numpy alone and computes log p(x).

    python3 python/nflow_reader.py MODEL.nflow POINTS.csv [--context CTX.csv | --context v,v,...]

prints one log p(x) per row of POINTS.csv (nats, in the data's units: the same numbers as
`nflow logprob --model MODEL.nflow --input POINTS.csv`), computed in float64 whatever the model's
dtype. Every family the library builds is covered: NICE (additive couplings and the rescale layer),
RealNVP on vectors (affine couplings, masks, permutations, batch norm) and on images (multi-scale:
checkerboard and channel couplings with residual conv conditioners, squeeze, factor-out), MAF and
IAF (MADE conditioners), rational-quadratic spline couplings and spline/additive MAF and IAF
(Neural Spline Flows), their conditional forms, and every base (standard normal, diagonal
normal, standard logistic, mixture of Gaussians, uniform box, conditional diagonal normal), with
the model's standardisation of x and of the context. Image models take pixels in the model's
units, x = (b + u)/levels in [0, 1] (what `nflow logprob` takes); add D·log(levels) for the
density of the integer pixels b.

The context of a conditional model: `--context CTX.csv` (one row per row of POINTS.csv, or one
row for all), `--context v,v,...` (one row for all), or, without --context, the model's named
context columns inside POINTS.csv (as `nflow logprob` reads them).

As a module: `model = load_model(path)`, then `model.log_prob(x, context=None)` with x an
[N, D] array (float64 result of shape [N]).

Both model format versions are read: 1 (tensors named by the library's params tree, couplings
of one shape stacked on a leading layer axis) and 2 (canonical per-layer names,
docs/model-format.md). ALL tensor naming lives in one place, the "Tensor names" section below;
the mathematics (the layer classes) never sees a file name. The checksum is verified: version 1's
CRC-32 of the tensor bytes (`tensorsCrc32`), version 2's whole-file checksum.

Exit codes (as the nflow CLI): 0 ok, 2 bad command line, 3 bad model or data file; every error is
one line on stderr.
"""

import json
import math
import os
import re
import struct
import sys
import zlib

import numpy as np

FORMAT = "normalizing-flows-model"
NEWEST_VERSION = 2
LOG_2PI = math.log(2.0 * math.pi)


class ReaderError(Exception):
    """A bad model or data file (exit code 3): the message is one line."""


class UsageError(Exception):
    """A bad command line (exit code 2)."""


# =============================================================================================
# safetensors container
# =============================================================================================

_ITEM = {"F32": ("<f4", 4), "F64": ("<f8", 8)}
MAX_HEADER_BYTES = 100_000_000


def read_safetensors(data, source):
    """Parses safetensors bytes ([u64 LE header length n][n bytes of JSON][tensor bytes]) into
    (metadata {str: str}, tensors {name: (dtype, shape, raw little-endian bytes)})."""
    if len(data) < 8:
        raise ReaderError(f"{source}: truncated file ({len(data)} bytes; not a model file)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES or 8 + n > len(data):
        raise ReaderError(f"{source}: corrupt or truncated file (header length {n}, file {len(data)} bytes)")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ReaderError(f"{source}: corrupt file (the safetensors header is not valid JSON)") from None
    if not isinstance(header, dict):
        raise ReaderError(f"{source}: corrupt file (the safetensors header is not an object)")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or any(not isinstance(v, str) for v in metadata.values()):
        raise ReaderError(f"{source}: corrupt file (__metadata__ must map strings to strings)")
    body = 8 + n
    size = len(data) - body
    tensors, spans = {}, []
    for name, info in header.items():
        if not isinstance(info, dict):
            raise ReaderError(f"{source}: corrupt file (tensor {name} has no dtype, shape and offsets)")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in _ITEM:
            raise ReaderError(f"{source}: tensor {name} has dtype {dtype!r}; model files hold F32 or F64")
        if (
            not isinstance(shape, list)
            or any(not isinstance(d, int) or d < 0 for d in shape)
            or not isinstance(offsets, list)
            or len(offsets) != 2
            or any(not isinstance(o, int) for o in offsets)
        ):
            raise ReaderError(f"{source}: corrupt file (tensor {name} has a bad shape or offsets)")
        begin, end = offsets
        count = int(np.prod(shape)) if shape else 1
        if not (0 <= begin <= end <= size) or end - begin != count * _ITEM[dtype][1]:
            raise ReaderError(f"{source}: corrupt or truncated file (tensor {name}: offsets {begin}..{end} do not fit)")
        tensors[name] = (dtype, list(shape), data[body + begin : body + end])
        spans.append((begin, end, name))
    # the tensors tile the data exactly: no overlap, no gap, nothing after the last one
    at = 0
    for begin, end, name in sorted(spans):
        if begin != at:
            raise ReaderError(f"{source}: corrupt file (tensor {name} starts at byte {begin} of the data, expected {at}: a gap or an overlap)")
        at = end
    if at != size:
        raise ReaderError(f"{source}: corrupt file ({size - at} bytes after the last tensor)")
    return metadata, tensors


def tensor_array(entry):
    """A stored tensor as a float64 numpy array of its shape."""
    dtype, shape, raw = entry
    return np.frombuffer(raw, dtype=_ITEM[dtype][0]).astype(np.float64).reshape(shape)


# =============================================================================================
# checksums
# =============================================================================================


CHECKSUM_MARK = b'"fileCrc32":"'


def verify_checksum(data, metadata, tensors, version, source):
    """Format 2: `fileCrc32`, the CRC-32 (IEEE, zlib's) of EVERY byte of the file with the 8 hex
    digits of its value read as "00000000"; the header holds the bytes "fileCrc32":" exactly once,
    followed by the 8 lowercase hex digits and a quote. Format 1: `tensorsCrc32`, the CRC-32 of the
    tensors' bytes concatenated in sorted name order, when present (a file without it is read
    unchecked, with a warning)."""
    if version == 1:
        stored = metadata.get("tensorsCrc32")
        if stored is None:
            warn(f"{source}: model format version 1 without tensorsCrc32: nothing checks this file")
            return
        crc = 0
        for name in sorted(tensors):
            crc = zlib.crc32(tensors[name][2], crc)
        actual = f"{crc:08x}"
        if actual != stored:
            raise ReaderError(f"{source}: corrupt tensor data (checksum {actual}, the file says {stored}); the file was damaged")
        return
    stored = metadata.get("fileCrc32")
    if stored is None:
        raise ReaderError(f"{source}: corrupt (checksum missing: a version {version} model file must carry fileCrc32)")
    end = 8 + struct.unpack("<Q", data[:8])[0]
    at = data.find(CHECKSUM_MARK, 8, end)
    if at < 0 or data.find(CHECKSUM_MARK, at + 1, end) >= 0:
        raise ReaderError(f"{source}: corrupt (the header must hold \"fileCrc32\" exactly once)")
    at += len(CHECKSUM_MARK)
    if at + 9 > end or data[at + 8 : at + 9] != b'"':
        raise ReaderError(f"{source}: corrupt (the fileCrc32 value is not 8 characters)")
    if not re.fullmatch(r"[0-9a-f]{8}", stored) or stored.encode("ascii") != data[at : at + 8]:
        raise ReaderError(f"{source}: corrupt (checksum {stored!r} is not 8 lowercase hex digits)")
    crc = zlib.crc32(data[at + 8 :], zlib.crc32(b"00000000", zlib.crc32(data[:at])))
    actual = f"{crc:08x}"
    if actual != stored:
        raise ReaderError(f"{source}: corrupt (checksum {actual}, the file says {stored}; the file was damaged or edited)")


# =============================================================================================
# numerics (float64)
# =============================================================================================


def softplus(x):
    return np.logaddexp(0.0, x)


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# The conditioners' hidden activations, as jax-js defines them (src/nn/activation.ts).
ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "elu": lambda x: np.where(x < 0, np.expm1(np.minimum(x, 0.0)), x),
    # the tanh form: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    "gelu": lambda x: 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3))),
    "silu": lambda x: x * sigmoid(x),
    "leaky_relu": lambda x: np.where(x < 0, 0.01 * x, x),
    "softplus": softplus,
}


def activation(name):
    if name not in ACTIVATIONS:
        raise ReaderError(f"unknown activation {name!r}")
    return ACTIVATIONS[name]


def mlp_shapes(prefix, sizes):
    """Local names and shapes of an MLP's layers: <prefix>linear<m>.weight [in, out], .bias [out]."""
    out = {}
    for m in range(len(sizes) - 1):
        out[f"{prefix}linear{m}.weight"] = (sizes[m], sizes[m + 1])
        out[f"{prefix}linear{m}.bias"] = (sizes[m + 1],)
    return out


def mlp(params, prefix, n_layers, x, act):
    """h_{m+1} = act(h_m·W_m + b_m), no activation after the last layer."""
    h = x
    for m in range(n_layers):
        h = h @ params[f"{prefix}linear{m}.weight"] + params[f"{prefix}linear{m}.bias"]
        if m < n_layers - 1:
            h = act(h)
    return h


def bounded(raw, bound):
    """The soft clamp s = B·tanh(r/B) of affine log-scales."""
    return np.tanh(raw * (1.0 / bound)) * bound


SPLINE_KEYS = ("bins", "bound", "minBinWidth", "minBinHeight", "minDerivative")


def spline_spec(c):
    """The spline fields of a config (its `bins` and `bound`, the library's fixed minima)."""
    return {"bins": c["bins"], "bound": c["bound"], "minBinWidth": 1e-3, "minBinHeight": 1e-3, "minDerivative": 1e-3}


def rq_spline_inverse(y, theta, spec):
    """Inverse of the monotonic rational-quadratic spline (src/bijectors/transformers/spline.ts):
    y [N, k], theta [N, k, 3K − 1] = [K width logits, K height logits, K − 1 raw interior
    derivatives]. Identity outside [−B, B]; inside, bin widths w = 2B·(m_w + (1 − K·m_w)·softmax),
    heights likewise, knot derivatives δ = m_δ + softplus(raw + log(e^{1 − m_δ} − 1)) with
    δ_0 = δ_K = 1; in bin k (by the y-knots) ξ = 2c/(−b − √(b² − 4ac)) with Y = y − y_k,
    q = δ_{k+1} + δ_k − 2s, a = h(s − δ_k) + Yq, b = hδ_k − Yq, c = −sY, s = h/w; x = x_k + ξw and
    log|∂x/∂y| = −log τ'(x). Returns (x, elementwise log-det)."""
    K, B = spec["bins"], spec["bound"]

    def sizes(logits, m):
        e = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return 2.0 * B * (m + (1.0 - K * m) * e / e.sum(axis=-1, keepdims=True))

    def left(size):
        return -B + np.concatenate([np.zeros(size.shape[:-1] + (1,)), np.cumsum(size, axis=-1)[..., :-1]], axis=-1)

    w, h = sizes(theta[..., :K], spec["minBinWidth"]), sizes(theta[..., K : 2 * K], spec["minBinHeight"])
    xl, yl = left(w), left(h)
    md = spec["minDerivative"]
    d = md + softplus(theta[..., 2 * K :] + math.log(math.expm1(1.0 - md)))
    ones = np.ones(y.shape + (1,))
    dl, dr = np.concatenate([ones, d], axis=-1), np.concatenate([d, ones], axis=-1)
    inside = np.abs(y) <= B
    ys = np.where(inside, y, 0.0)
    # the bin: the number of interior knots at or below y (a knot belongs to the bin it starts)
    idx = (ys[..., None] >= yl[..., 1:]).sum(axis=-1)[..., None]
    pick = lambda a: np.take_along_axis(a, idx, axis=-1)[..., 0]
    w, h, xl, yl, dl, dr = pick(w), pick(h), pick(xl), pick(yl), pick(dl), pick(dr)
    s = h / w
    q = dr + dl - 2.0 * s
    Y = ys - yl
    a, b, c = h * (s - dl) + Y * q, h * dl - Y * q, -s * Y
    xi = 2.0 * c / (-b - np.sqrt(np.maximum(b * b - 4.0 * a * c, 0.0)))
    x = xl + xi * w
    t = xi * (1.0 - xi)
    logd = 2.0 * np.log(s) + np.log(dr * xi**2 + 2.0 * s * t + dl * (1.0 - xi) ** 2) - 2.0 * np.log(s + q * t)
    return np.where(inside, x, y), np.where(inside, -logd, 0.0)


def mulberry32(seed):
    """The library's host generator (src/engine/random.ts hostRng), bit for bit (uint32 arithmetic)."""
    a = seed & 0xFFFFFFFF

    def nxt():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t = (t ^ ((t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296.0

    return nxt


def host_permutation(n, seed):
    """Seeded Fisher–Yates (src/engine/random.ts hostPermutation)."""
    rng = mulberry32(seed)
    p = list(range(n))
    for i in range(n - 1, 0, -1):
        j = int(math.floor(rng() * (i + 1)))
        p[i], p[j] = p[j], p[i]
    return p


def conv3x3(x, w, b):
    """3×3 convolution, stride 1, zero padding 1, on NCHW x [N, c_in, H, W]; w [9·c_in, c_out],
    row (3·di + dj)·c_in + ci: out[co, i, j] = b[co] + Σ W[(3di+dj)·c_in + ci, co]·x[ci, i+di−1, j+dj−1]."""
    N, ci, H, W = x.shape
    co = w.shape[1]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.broadcast_to(b.reshape(1, co, 1, 1), (N, co, H, W)).copy()
    for di in range(3):
        for dj in range(3):
            k = 3 * di + dj
            out += np.einsum("nchw,co->nohw", xp[:, :, di : di + H, dj : dj + W], w[k * ci : (k + 1) * ci], optimize=True)
    return out


# =============================================================================================
# layers. Each computes the NORMALISING direction: inverse(p, x, ctx) -> (z, log|det ∂z/∂x|),
# p = {local name: float64 array} with the local names of `param_shapes()` (format 2's names
# inside a layer); `describe()` is the layer as format 2's `layers` metadata describes it.
# =============================================================================================


class Coupling:
    """Vector coupling. mask[d] = 1: d passes unchanged and conditions. θ = MLP([x_pass, ctx]) has
    P·k_t columns, block j = θ_j over the transformed coordinates in increasing order:
    additive (NICE) θ = [t]: x_t = z_t + t;  affine (RealNVP) θ = [t, r], s = B·tanh(r/B):
    x_t = z_t·e^s + t, so z_t = (x_t − t)·e^{−s}, log-det −Σ s;  spline (RQ-NSF (C)) θ = 3K − 1
    blocks (rq_spline_inverse)."""

    def __init__(self, kind, mask, hidden, act, context_dim, scale_bound=None, spline=None):
        self.kind, self.mask = kind, [int(bool(m)) for m in mask]
        self.dim = len(self.mask)
        self.hidden, self.act, self.K, self.bound = list(hidden), act, context_dim, scale_bound
        self.spline = dict(spline) if spline is not None else None
        m = np.asarray(self.mask, dtype=bool)
        self.ident, self.trans = np.flatnonzero(m), np.flatnonzero(~m)
        self.P = 1 if kind == "additive-coupling" else 3 * self.spline["bins"] - 1 if kind == "spline-coupling" else 2

    def describe(self):
        d = {"kind": self.kind, "mask": self.mask, "hidden": self.hidden, "activation": self.act}
        if self.kind == "affine-coupling":
            d["scaleBound"] = self.bound
        if self.kind == "spline-coupling":
            d.update({key: self.spline[key] for key in SPLINE_KEYS})
        return d

    def param_shapes(self):
        return mlp_shapes("conditioner.", [len(self.ident) + self.K, *self.hidden, self.P * len(self.trans)])

    def stack_key(self):
        """What two couplings share when a format 1 file stacks them (CouplingStack.mismatch)."""
        spline = tuple(self.spline[key] for key in SPLINE_KEYS) if self.spline else None
        return (self.kind, self.dim, self.K, tuple(self.hidden), self.act, self.bound, spline, len(self.ident))

    def inverse(self, p, x, ctx):
        xi = x[:, self.ident]
        inp = xi if self.K == 0 else np.concatenate([xi, ctx], axis=1)
        theta = mlp(p, "conditioner.", len(self.hidden) + 1, inp, activation(self.act))
        k = len(self.trans)
        z = x.copy()
        if self.kind == "additive-coupling":
            z[:, self.trans] = x[:, self.trans] - theta
            return z, np.zeros(x.shape[0])
        if self.kind == "spline-coupling":
            th = theta.reshape(x.shape[0], self.P, k).transpose(0, 2, 1)
            z[:, self.trans], ld = rq_spline_inverse(x[:, self.trans], th, self.spline)
            return z, ld.sum(axis=1)
        s = bounded(theta[:, k:], self.bound)
        z[:, self.trans] = (x[:, self.trans] - theta[:, :k]) * np.exp(-s)
        return z, -s.sum(axis=1)


def made_degrees(dim, hidden):
    """Input degrees 1..D and nflows' sequential hidden degrees (k mod max(1, D−1)) + min(1, D−1)."""
    period, offset = max(1, dim - 1), min(1, dim - 1)
    return list(range(1, dim + 1)), [[k % period + offset for k in range(H)] for H in hidden]


class Autoregressive:
    """MAF / IAF layer with a MADE conditioner. Masks for weights [in, out]: hidden M[j, u] = 1
    iff deg_h[u] ≥ deg_prev[j]; output M[u, i] = 1 iff deg_in[i] > deg_h[u] (strict); the
    context enters the first hidden layer unmasked. θ = [shift head t, raw log-scale head r],
    s = B·tanh(r/B) (affine); [shift head t] with s = 0 (additive); the 3K − 1 heads width<k>,
    height<k>, derivative<k> of a spline (rq_spline_inverse), whose inverse replaces (x − t)·e^{−s}.
    MAF: x_i = z_i·e^{s_i(x_<i)} + t_i(x_<i): z = (x − t(x))·e^{−s(x)}, one pass.
    IAF: x_i = z_i·e^{s_i(z_<i)} + t_i(z_<i): D passes w ← (x − t(w))·e^{−s(w)} from w = 0; the
    log-det −Σ s is that of the last pass."""

    def __init__(self, kind, degrees, hidden_degrees, act, context_dim, scale_bound, transformer="affine", spline=None):
        self.kind, self.degrees, self.hidden_degrees = kind, list(degrees), [list(h) for h in hidden_degrees]
        self.dim, self.hidden = len(self.degrees), [len(h) for h in self.hidden_degrees]
        self.act, self.K, self.bound = act, context_dim, scale_bound
        self.transformer, self.spline = transformer, dict(spline) if spline is not None else None
        if transformer == "affine":
            self.heads = ["shift", "logScale"]
        elif transformer == "additive":
            self.heads = ["shift"]
        elif transformer == "spline":
            n = self.spline["bins"]
            self.heads = [f"width{k}" for k in range(n)] + [f"height{k}" for k in range(n)] + [f"derivative{k}" for k in range(1, n)]
        else:
            raise ReaderError(f"unknown transformer {transformer!r}")
        prev = np.asarray(self.degrees)
        self.masks = []
        for deg in self.hidden_degrees:
            deg = np.asarray(deg)
            self.masks.append((deg[None, :] >= prev[:, None]).astype(np.float64))
            prev = deg
        self.out_mask = (np.asarray(self.degrees)[None, :] > prev[:, None]).astype(np.float64)

    def describe(self):
        return {
            "kind": self.kind,
            "degrees": self.degrees,
            "hiddenDegrees": self.hidden_degrees,
            "activation": self.act,
            **({"scaleBound": self.bound} if self.transformer == "affine" else {"transformer": self.transformer}),
            **({key: self.spline[key] for key in SPLINE_KEYS} if self.transformer == "spline" else {}),
        }

    def param_shapes(self):
        out = mlp_shapes("made.", [self.dim, *self.hidden])
        if self.K > 0:
            out["made.context.weight"] = (self.K, self.hidden[0])
        for head in self.heads:
            out[f"made.{head}.weight"] = (self.hidden[-1], self.dim)
            out[f"made.{head}.bias"] = (self.dim,)
        return out

    def made(self, p, v, ctx):
        act = activation(self.act)
        h = v
        for m in range(len(self.hidden)):
            h = h @ (p[f"made.linear{m}.weight"] * self.masks[m]) + p[f"made.linear{m}.bias"]
            if m == 0 and self.K > 0:
                h = h + ctx @ p["made.context.weight"]
            h = act(h)
        return [h @ (p[f"made.{head}.weight"] * self.out_mask) + p[f"made.{head}.bias"] for head in self.heads]

    def step(self, theta, x):
        """τ⁻¹(x; θ) and its log-det summed over dimensions."""
        if self.transformer == "spline":
            z, ld = rq_spline_inverse(x, np.stack(theta, axis=-1), self.spline)
            return z, ld.sum(axis=1)
        s = bounded(theta[1], self.bound) if self.transformer == "affine" else np.zeros_like(x)
        return (x - theta[0]) * np.exp(-s), -s.sum(axis=1)

    def inverse(self, p, x, ctx):
        if self.kind == "masked-autoregressive":
            return self.step(self.made(p, x, ctx), x)
        w = np.zeros_like(x)
        for _ in range(self.dim):
            w, logdet = self.step(self.made(p, w, ctx), x)
        return w, logdet


class Permutation:
    """Forward x[:, j] = z[:, order[j]], so z[:, order[j]] = x[:, j]; log-det 0."""

    def __init__(self, order):
        self.order = [int(o) for o in order]
        self.dim = len(self.order)
        self.inv = np.argsort(np.asarray(self.order))

    def describe(self):
        return {"kind": "permutation", "order": self.order}

    def param_shapes(self):
        return {}

    def inverse(self, p, x, ctx):
        return x[:, self.inv], np.zeros(x.shape[0])


class Linear:
    """LU-parametrised linear map (permutation "lu"): forward x = P·L·U·z + b with (P v)_i = v[perm[i]],
    L = I + strict lower part of `lower`, U = diag(e^{logDiag}) + strict upper part of `upper`;
    inverse z = U⁻¹ L⁻¹ Pᵀ (x − b), log-det −Σ logDiag."""

    def __init__(self, dim, permutation):
        self.dim = dim
        self.perm = [int(v) for v in permutation]

    def describe(self):
        return {"kind": "linear", "permutation": self.perm}

    def param_shapes(self):
        D = self.dim
        return {"lower": (D, D), "upper": (D, D), "logDiag": (D,), "bias": (D,)}

    def inverse(self, p, x, ctx):
        D = self.dim
        centred = x - p["bias"]
        v = np.empty_like(centred)
        v[:, self.perm] = centred  # v[:, perm[i]] = (x − b)[:, i], i.e. Pᵀ(x − b) per row
        L = np.tril(p["lower"], -1) + np.eye(D)
        U = np.triu(p["upper"], 1) + np.diag(np.exp(p["logDiag"]))
        # rows: z = v L⁻ᵀ U⁻ᵀ, i.e. z_rowᵀ = U⁻¹ L⁻¹ v_rowᵀ
        w = np.linalg.solve(L, v.T)
        z = np.linalg.solve(U, w).T
        return z, np.full(x.shape[0], -np.sum(p["logDiag"]))


class ActNorm:
    """ActNorm (Glow): per dimension (shape None) or per channel of images [C, H, W]; normalising
    direction z = (x − loc_c)/e^{logScale_c}, log-det −H·W·Σ logScale. `initialized` (the data-init
    flag) does not enter the map."""

    def __init__(self, dim, shape):
        self.dim = dim
        self.shape = None if shape is None else [int(v) for v in shape]
        self.channels = dim if shape is None else self.shape[0]
        self.pixels = 1 if shape is None else self.shape[1] * self.shape[2]

    def describe(self):
        return {"kind": "actnorm", "shape": self.shape}

    def param_shapes(self):
        return {"loc": (self.channels,), "logScale": (self.channels,), "initialized": (1,)}

    def inverse(self, p, x, ctx):
        loc, s = np.repeat(p["loc"], self.pixels), np.repeat(p["logScale"], self.pixels)
        return (x - loc) / np.exp(s), np.full(x.shape[0], -self.pixels * np.sum(p["logScale"]))


class Conv1x1:
    """Invertible 1×1 convolution (Glow) on images [C, H, W]: every pixel's channels x_p = W z_p with
    W = P·L·U ((P v)_c = v[perm[c]], L = I + strict lower part of `lower`, U = diag(e^{logDiag}) +
    strict upper part of `upper`); normalising z_p = W⁻¹ x_p, log-det −H·W·Σ logDiag."""

    def __init__(self, shape, permutation):
        self.shape = [int(v) for v in shape]
        self.perm = [int(v) for v in permutation]
        C, H, W = self.shape
        self.dim = C * H * W

    def describe(self):
        return {"kind": "conv1x1", "shape": self.shape, "permutation": self.perm}

    def param_shapes(self):
        C = self.shape[0]
        return {"lower": (C, C), "upper": (C, C), "logDiag": (C,)}

    def inverse(self, p, x, ctx):
        C, H, W = self.shape
        L = np.tril(p["lower"], -1) + np.eye(C)
        U = np.triu(p["upper"], 1) + np.diag(np.exp(p["logDiag"]))
        Wm = (L @ U)[self.perm]  # row c of P·M is row perm[c] of M
        v = x.reshape(x.shape[0], C, H * W)
        z = np.linalg.inv(Wm) @ v  # z_p = W⁻¹ x_p for every sample and pixel
        return z.reshape(x.shape[0], -1), np.full(x.shape[0], -H * W * np.sum(p["logDiag"]))


class BatchNorm:
    """Evaluation mode: z = (x − μ)/√(σ² + ε)·e^{logGamma} + beta with the running μ, σ²;
    log-det Σ logGamma − ½ log(σ² + ε)."""

    def __init__(self, dim, eps=1e-5):
        self.dim, self.eps = dim, eps

    def describe(self):
        return {"kind": "batch-norm", "eps": self.eps}

    def param_shapes(self):
        return {k: (self.dim,) for k in ("logGamma", "beta", "runningMean", "runningVar")}

    def inverse(self, p, x, ctx):
        std = np.sqrt(p["runningVar"] + self.eps)
        z = (x - p["runningMean"]) / std * np.exp(p["logGamma"]) + p["beta"]
        return z, np.full(x.shape[0], np.sum(p["logGamma"] - np.log(std)))


class Rescale:
    """x = z·e^{s}: z = x / e^{s}, log-det −Σ s."""

    def __init__(self, dim):
        self.dim = dim

    def describe(self):
        return {"kind": "rescale"}

    def param_shapes(self):
        return {"logScale": (self.dim,)}

    def inverse(self, p, x, ctx):
        s = p["logScale"]
        return x / np.exp(s), np.full(x.shape[0], -np.sum(s))


class Logit:
    """The logit preprocessing at the data end (forward: y ↦ (σ(y) − α)/(1 − 2α)); the density
    direction applies y = logit(u), u = α + (1 − 2α)x, log-det Σ log(1 − 2α) − log u − log(1 − u)."""

    def __init__(self, dim, alpha):
        self.dim, self.alpha = dim, alpha

    def describe(self):
        return {"kind": "logit", "alpha": self.alpha}

    def param_shapes(self):
        return {}

    def inverse(self, p, x, ctx):
        a = self.alpha
        u = x * (1 - 2 * a) + a if a != 0 else x
        log_u, log_1mu = np.log(u), np.log1p(-u)
        logdet = -(log_u + log_1mu).sum(axis=1)
        if a != 0:
            logdet = logdet + self.dim * math.log1p(-2 * a)
        return log_u - log_1mu, logdet


class Squeeze:
    """Normalising direction: [C, H, W] → [4C, H/2, W/2], out[4c + 2di + dj, i, j] = in[c, 2i + di, 2j + dj]."""

    def __init__(self, shape):
        self.shape = [int(v) for v in shape]
        C, H, W = self.shape
        self.dim, self.out_shape = C * H * W, [4 * C, H // 2, W // 2]

    def describe(self):
        return {"kind": "squeeze", "shape": self.shape}

    def param_shapes(self):
        return {}

    def inverse(self, p, x, ctx):
        C, H, W = self.shape
        N = x.shape[0]
        return x.reshape(N, C, H // 2, 2, W // 2, 2).transpose(0, 1, 3, 5, 2, 4).reshape(N, -1), np.zeros(N)


class FactorOut:
    """x = [x_keep | x_out] (first | second half of the channels, i.e. of the flat vector);
    z = [x_out | g_inner(x_keep)], log-det that of the inner flow (`inner`: its layers, forward order)."""

    def __init__(self, shape, inner):
        self.shape, self.inner = [int(v) for v in shape], inner
        self.dim = self.shape[0] * self.shape[1] * self.shape[2]

    def describe(self):
        return {"kind": "factor-out", "shape": self.shape, "layers": [l.describe() for l in self.inner]}

    def param_shapes(self):
        return {}

    def inverse(self, p, x, ctx):
        half = x.shape[1] // 2
        z, logdet = run_inverse(self.inner, x[:, :half], ctx)
        return np.concatenate([x[:, half:], z], axis=1), logdet


class ImageCoupling:
    """RealNVP image coupling, normalising direction z_t = x_t·e^{s} + t:
    checkerboard, parity p: b = 1 where (i + j) mod 2 = p (every channel) conditions;
        [s_raw, t_raw] = ResNet(b ⊙ x), s = w_c·tanh(s_raw) ⊙ (1 − b), t = t_raw ⊙ (1 − b);
    channel, parity p: halves [A | B] of the channels; p = 0: A conditions B, p = 1 the reverse;
        [s_raw, t] = ResNet(conditioning half), s = w_c·tanh(s_raw); positions kept.
    ResNet: h = conv_in(x); h += conv_b(relu(conv_a(relu(h)))) per block; out = conv_out(relu(h)),
    output channels [0, c_t) = s_raw, [c_t, 2c_t) = t; a context enters as K constant input
    channels after the image channels. log-det Σ s."""

    def __init__(self, shape, mask, parity, width, blocks, context_dim):
        self.shape, self.maskkind, self.parity = [int(v) for v in shape], mask, int(parity)
        self.width, self.blocks, self.K = int(width), int(blocks), context_dim
        C, H, W = self.shape
        self.dim = C * H * W
        self.tc = C if mask == "checkerboard" else C // 2
        cond = C if mask == "checkerboard" else C // 2
        self.channels = [(cond + context_dim, self.width)] + [(self.width, self.width)] * (2 * self.blocks) + [(self.width, 2 * self.tc)]
        if mask == "checkerboard":
            i, j = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
            self.board = np.tile(((i + j) % 2 == self.parity).astype(np.float64).reshape(-1), C)

    def describe(self):
        return {
            "kind": "image-affine-coupling",
            "shape": self.shape,
            "mask": self.maskkind,
            "parity": self.parity,
            "width": self.width,
            "blocks": self.blocks,
        }

    def param_shapes(self):
        out = {}
        for m, (ci, co) in enumerate(self.channels):
            out[f"conditioner.conv{m}.weight"] = (9 * ci, co)
            out[f"conditioner.conv{m}.bias"] = (co,)
        out["scale"] = (self.tc,)
        return out

    def resnet(self, p, h):
        relu = ACTIVATIONS["relu"]

        def conv(m, v):
            return conv3x3(v, p[f"conditioner.conv{m}.weight"], p[f"conditioner.conv{m}.bias"])

        h = conv(0, h)
        for i in range(self.blocks):
            h = h + conv(2 + 2 * i, relu(conv(1 + 2 * i, relu(h))))
        return conv(len(self.channels) - 1, relu(h))

    def conditioner(self, p, inp, k, ctx):
        _, H, W = self.shape
        N = inp.shape[0]
        h = inp.reshape(N, k, H, W)
        if self.K > 0:
            h = np.concatenate([h, np.broadcast_to(ctx.reshape(N, self.K, 1, 1), (N, self.K, H, W))], axis=1)
        out = self.resnet(p, h).reshape(N, -1)
        half = out.shape[1] // 2
        return out[:, :half], out[:, half:]

    def inverse(self, p, x, ctx):
        C, H, W = self.shape
        if self.maskkind == "checkerboard":
            free = 1.0 - self.board
            s_raw, t_raw = self.conditioner(p, x * self.board, C, ctx)
            s = np.tanh(s_raw) * np.repeat(p["scale"], H * W) * free
            return x * np.exp(s) + t_raw * free, s.sum(axis=1)
        half = x.shape[1] // 2
        a, b = x[:, :half], x[:, half:]
        cond, trans = (a, b) if self.parity == 0 else (b, a)
        s_raw, t = self.conditioner(p, cond, C // 2, ctx)
        s = np.tanh(s_raw) * np.repeat(p["scale"], H * W)
        zt = trans * np.exp(s) + t
        return np.concatenate([cond, zt] if self.parity == 0 else [zt, cond], axis=1), s.sum(axis=1)


def run_inverse(layers, x, ctx):
    """A layer list in forward order, run from the data side (the last layer first); log-dets add."""
    logdet = np.zeros(x.shape[0])
    for layer in reversed(layers):
        x, ld = layer.inverse(layer.params, x, ctx)
        logdet = logdet + ld
    return x, logdet


# =============================================================================================
# bases: log p(z)
# =============================================================================================


class Base:
    """The base density of `config.base` (context width K, conditioner activation `act`)."""

    def __init__(self, spec, dim, context_dim, act):
        self.kind, self.spec, self.dim, self.K, self.act = spec["kind"], spec, dim, context_dim, act
        kinds = ("standard-normal", "diag-normal", "standard-logistic", "mixture-of-gaussians", "uniform", "conditional-diag-normal")
        if self.kind not in kinds:
            raise ReaderError(f"unknown base kind {self.kind!r}")

    def param_shapes(self):
        D = self.dim
        if self.kind == "diag-normal":
            return {"mean": (D,), "logStd": (D,)}
        if self.kind == "mixture-of-gaussians":
            M = self.spec["components"]
            return {"logits": (M,), "means": (M, D), "logStds": (M, D)}
        if self.kind == "conditional-diag-normal":
            return mlp_shapes("conditioner.", [self.K, *self.spec.get("hidden", [32]), 2 * D])
        return {}

    def log_prob(self, p, z, ctx):
        D = self.dim
        if self.kind == "standard-normal":
            return -0.5 * np.sum(z * z, axis=1) - 0.5 * D * LOG_2PI
        if self.kind == "diag-normal":
            u = (z - p["mean"]) * np.exp(-p["logStd"])
            return -0.5 * np.sum(u * u, axis=1) - np.sum(p["logStd"]) - 0.5 * D * LOG_2PI
        if self.kind == "standard-logistic":
            a = np.abs(z)
            return -np.sum(a + 2.0 * np.log1p(np.exp(-a)), axis=1)
        if self.kind == "mixture-of-gaussians":
            # logsumexp_k [log softmax(logits)_k + log N(z; μ_k, diag σ_k²)]
            u = (z[:, None, :] - p["means"][None]) * np.exp(-p["logStds"])[None]
            log_normal = -0.5 * np.sum(u * u, axis=2) - np.sum(p["logStds"], axis=1)[None] - 0.5 * D * LOG_2PI
            logits = p["logits"]
            log_w = logits - np.logaddexp.reduce(logits)
            return np.logaddexp.reduce(log_normal + log_w[None], axis=1)
        if self.kind == "uniform":
            # −Σ log(high − low) inside the closed box, −∞ outside
            low, high = np.asarray(self.spec["low"], float), np.asarray(self.spec["high"], float)
            log_volume = float(sum(math.log(h - l) for l, h in zip(self.spec["low"], self.spec["high"])))
            return np.where(np.all((z >= low) & (z <= high), axis=1), -log_volume, -np.inf)
        # conditional-diag-normal: [μ, r] = MLP(context), log σ = 5·tanh(r/5)
        hidden = self.spec.get("hidden", [32])
        out = mlp(p, "conditioner.", len(hidden) + 1, ctx, activation(self.act))
        mean, log_std = out[:, :D], bounded(out[:, D:], 5.0)
        u = (z - mean) * np.exp(-log_std)
        return -0.5 * np.sum(u * u, axis=1) - np.sum(log_std, axis=1) - 0.5 * D * LOG_2PI


# =============================================================================================
# the layers of a config (src/flows/build.ts), in FORWARD (z → x) order
# =============================================================================================


def coupling_mask(dim, kind, flip):
    """"half": the first ⌈D/2⌉ coordinates pass; "alternating": the even ones; flip negates."""
    m = [(d < math.ceil(dim / 2)) if kind == "half" else (d % 2 == 0) for d in range(dim)]
    return [int(v != flip) for v in m]


def config_layers(c):
    """buildLayers: the config's layers in forward order."""
    if c["image"] is not None and c["flow"] == "realnvp":
        layers = multi_scale_layers(c, list(c["image"]), 0)
    else:
        layers = vector_layers(c)
    if c["logit"] is not None:
        layers.append(Logit(c["dim"], c["logit"]))
    return layers


def vector_layers(c):
    D, L, K = c["dim"], c["layers"], c["contextDim"]
    image = c["image"] is not None

    def flip(l):
        # images count parities from the data side, vectors from the base side
        return c["permutation"] == "none" and ((L - 1 - l) if image else l) % 2 == 1

    # the config leaves `transformer` out for the family's default (additive for nice, else affine)
    transformer = c.get("transformer", "additive" if c["flow"] == "nice" else "affine")
    spline = spline_spec(c) if transformer == "spline" else None

    def main(l):
        if c["flow"] in ("nice", "realnvp"):
            kind = f"{transformer}-coupling"
            return Coupling(kind, coupling_mask(D, c["mask"], flip(l)), c["hidden"], c["activation"], K, c["scaleBound"] if transformer == "affine" else None, spline)
        kind = "masked-autoregressive" if c["flow"] == "maf" else "inverse-autoregressive"
        return Autoregressive(kind, *made_degrees(D, c["hidden"]), c["activation"], K, c["scaleBound"], transformer, spline)

    out = [Rescale(D)] if c["rescale"] else []
    for l in range(L):
        if l > 0:
            if c["permutation"] == "reverse" and D > 1:
                out.append(Permutation(range(D - 1, -1, -1)))
            if c["permutation"] == "random" and D > 1:
                out.append(Permutation(host_permutation(D, (c["seed"] + l) & 0xFFFFFFFF)))
            if c["permutation"] == "lu" and D > 1:
                out.append(Linear(D, range(D - 1, -1, -1)))
            if c["batchNorm"]:
                out.append(BatchNorm(D))
        if c.get("actnorm") and l > 0:
            out.append(ActNorm(D, None))
        out.append(main(l))
    if c.get("actnorm"):
        out.append(ActNorm(D, None))
    return out


def multi_scale_layers(c, shape, s):
    """RealNVP multi-scale, built in the normalising order and reversed: at a scale before the
    last, `layers` checkerboard couplings (parities 0, 1, 0, …), a squeeze, `layers` channel
    couplings and a factor-out whose inner flow is the next scale; at the last, layers + 1
    checkerboard couplings."""
    normalising = []
    width, blocks, K = c["hidden"][0], len(c["hidden"]), c["contextDim"]

    def couplings(sh, mask, count):
        # Glow's step: [actnorm] → [1×1 conv where ≥ 2 channels, permutation "lu"] → coupling;
        # with the conv, channel couplings keep parity 0
        conv = c["permutation"] == "lu" and sh[0] >= 2
        for i in range(count):
            if i > 0 and c["batchNorm"]:
                normalising.append(BatchNorm(sh[0] * sh[1] * sh[2]))
            if c.get("actnorm"):
                normalising.append(ActNorm(sh[0] * sh[1] * sh[2], sh))
            if conv:
                normalising.append(Conv1x1(sh, list(range(sh[0] - 1, -1, -1))))
            parity = 0 if mask == "channel" and conv else i % 2
            normalising.append(ImageCoupling(sh, mask, parity, width, blocks, K))

    if s == c["scales"] - 1:
        couplings(shape, "checkerboard", c["layers"] + 1)
    else:
        couplings(shape, "checkerboard", c["layers"])
        sq = Squeeze(shape)
        normalising.append(sq)
        couplings(sq.out_shape, "channel", c["layers"])
        kept = [sq.out_shape[0] // 2, sq.out_shape[1], sq.out_shape[2]]
        normalising.append(FactorOut(sq.out_shape, multi_scale_layers(c, kept, s + 1)))
    return normalising[::-1]


def described_layers(descriptions, dim, c):
    """Format 2's `layers` metadata as layers (dim: the data dimension of this list)."""
    K, out = c["contextDim"], []
    for d in descriptions:
        kind = d.get("kind")
        if kind in ("additive-coupling", "affine-coupling", "spline-coupling"):
            spline = {key: d[key] for key in SPLINE_KEYS} if kind == "spline-coupling" else None
            out.append(Coupling(kind, d["mask"], d["hidden"], d["activation"], K, d.get("scaleBound"), spline))
        elif kind in ("masked-autoregressive", "inverse-autoregressive"):
            transformer = d.get("transformer", "affine")
            spline = {key: d[key] for key in SPLINE_KEYS} if transformer == "spline" else None
            out.append(Autoregressive(kind, d["degrees"], d["hiddenDegrees"], d["activation"], K, d.get("scaleBound"), transformer, spline))
        elif kind == "permutation":
            out.append(Permutation(d["order"]))
        elif kind == "batch-norm":
            out.append(BatchNorm(dim, d["eps"]))
        elif kind == "linear":
            out.append(Linear(dim, d["permutation"]))
        elif kind == "actnorm":
            out.append(ActNorm(dim, d["shape"]))
        elif kind == "conv1x1":
            out.append(Conv1x1(d["shape"], d["permutation"]))
        elif kind == "rescale":
            out.append(Rescale(dim))
        elif kind == "logit":
            out.append(Logit(dim, d["alpha"]))
        elif kind == "squeeze":
            out.append(Squeeze(d["shape"]))
        elif kind == "image-affine-coupling":
            out.append(ImageCoupling(d["shape"], d["mask"], d["parity"], d["width"], d["blocks"], K))
        elif kind == "factor-out":
            sh = d["shape"]
            out.append(FactorOut(sh, described_layers(d["layers"], sh[0] * sh[1] * sh[2] // 2, c)))
        else:
            raise ReaderError(f"unknown layer kind {kind!r}")
    return out


def first_difference(a, b, path="layers"):
    """Where two JSON values first differ (numbers compared as numbers), or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            d = first_difference(a.get(k), b.get(k), f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path} has {len(a)} entries, the config gives {len(b)}"
        for i, (u, v) in enumerate(zip(a, b)):
            d = first_difference(u, v, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path} is {json.dumps(a)[:60]}, the config gives {json.dumps(b)[:60]}"


# =============================================================================================
# Tensor names: the ONE place that knows how a file names its tensors
# =============================================================================================
#
# Inside a layer (and the base) the code uses format 2's local names (`param_shapes()`:
# "conditioner.linear0.weight", "made.shift.bias", "scale", ...). A "slot" (layer, prefix, stack
# index or None) says where a layer's tensors are: local name k is tensors[prefix + local(k)], or
# row `index` of it when the file stacks several layers on a leading axis.
#
# Format 2 (docs/model-format.md §1): layer i of the forward-order list is "layers.<i>." (every
# layer counted, parameter-free ones included), the inner flow of a factor-out at i is
# "layers.<i>.layers.<j>." (nested the same way at deeper scales), the base is "base."; one
# tensor per layer, local names as they are.
#
# Format 1: the library's params tree by dotted path, "bijector." + the bijector's tree, in
# which a run of two or more couplings that CouplingStack.mismatch lets share a stack (the same
# conditioner shape and number of passing coordinates: with a "half" mask, D's parity decides)
# is ONE stack with leaves [L, ...]. A whole-flow stack is the bijector itself
# ("bijector.net.W.0"); otherwise the bijector is a Chain ("bijector.layers.<i>." per item); a
# factor-out's inner flow is "inner." + (a Chain's "layers.<j>." or its single layer); the base
# is "base.". Local names are the params tree's (V1_LOCAL_NAMES).

V1_LOCAL_NAMES = [
    (r"^conditioner\.(?:linear|conv)(\d+)\.weight$", r"net.W.\1"),
    (r"^conditioner\.(?:linear|conv)(\d+)\.bias$", r"net.b.\1"),
    (r"^made\.linear(\d+)\.weight$", r"made.W.\1"),
    (r"^made\.linear(\d+)\.bias$", r"made.b.\1"),
    (r"^made\.context\.weight$", "made.Wc"),
    (r"^made\.shift\.weight$", "made.heads.W.0"),
    (r"^made\.shift\.bias$", "made.heads.b.0"),
    (r"^made\.logScale\.weight$", "made.heads.W.1"),
    (r"^made\.logScale\.bias$", "made.heads.b.1"),
]


def v1_local(name):
    for pattern, replacement in V1_LOCAL_NAMES:
        if re.match(pattern, name):
            return re.sub(pattern, replacement, name)
    return name


def v2_slots(layers, prefix=""):
    slots = []
    for i, layer in enumerate(layers):
        slots.append((layer, f"{prefix}layers.{i}.", None))
        if isinstance(layer, FactorOut):
            slots.extend(v2_slots(layer.inner, f"{prefix}layers.{i}."))
    return slots


def v1_slots(layers):
    items, run = [], []  # items: ("stack", [couplings]) or ("one", layer)

    def flush():
        items.extend([("stack", list(run))] if len(run) >= 2 else [("one", l) for l in run])
        run.clear()

    for layer in layers:
        if isinstance(layer, Coupling):
            if run and run[0].stack_key() != layer.stack_key():
                flush()
            run.append(layer)
        else:
            flush()
            items.append(("one", layer))
    flush()
    if len(items) == 1 and items[0][0] == "stack":
        return [(l, "bijector.", j) for j, l in enumerate(items[0][1])]
    slots = []
    for i, (what, item) in enumerate(items):
        if what == "stack":
            slots.extend((l, f"bijector.layers.{i}.", j) for j, l in enumerate(item))
        else:
            slots.extend(v1_layer_slots(item, f"bijector.layers.{i}."))
    return slots


def v1_layer_slots(layer, prefix):
    if not isinstance(layer, FactorOut):
        return [(layer, prefix, None)]
    if len(layer.inner) == 1:
        return [(layer, prefix, None)] + v1_layer_slots(layer.inner[0], prefix + "inner.")
    slots = [(layer, prefix, None)]
    for j, l in enumerate(layer.inner):
        slots.extend(v1_layer_slots(l, f"{prefix}inner.layers.{j}."))
    return slots


def attach_params(layers, base, tensors, version, source):
    """Gives every layer and the base its params (float64) from the file's tensors: shapes
    checked, finite values checked; a missing or an unexpected tensor is an error."""
    local = v1_local if version == 1 else (lambda k: k)
    used = set()

    def take(owner, prefix, index):
        owner.params = {}
        for key, shape in owner.param_shapes().items():
            name = prefix + local(key)
            if name not in tensors:
                raise ReaderError(f"{source}: tensor {name} is missing (the file does not match its config)")
            used.add(name)
            arr = tensor_array(tensors[name])
            want = ([arr.shape[0]] if index is not None and arr.ndim > 0 else []) + list(shape)
            if list(arr.shape) != want or (index is not None and index >= arr.shape[0]):
                raise ReaderError(f"{source}: tensor {name} has shape {list(arr.shape)}, the config needs {want}")
            if not np.all(np.isfinite(arr)):
                raise ReaderError(f"{source}: tensor {name} holds non-finite values; the model is unusable")
            owner.params[key] = arr[index] if index is not None else arr

    for layer, prefix, index in v1_slots(layers) if version == 1 else v2_slots(layers):
        take(layer, prefix, index)
    take(base, "base.", None)
    extra = sorted(set(tensors) - used)
    if extra:
        raise ReaderError(f"{source}: unexpected tensor {extra[0]} (not a parameter of the stored config)")


# =============================================================================================
# the model
# =============================================================================================


class Model:
    """A loaded model: `log_prob(x, context)` in the data's units, float64."""

    def __init__(self, metadata, config, layers, base, source):
        self.metadata, self.config, self.layers, self.base, self.source = metadata, config, layers, base, source
        self.dim, self.context_dim = config["dim"], config["contextDim"]
        self.preprocessing = json_field(metadata, "preprocessing", source)
        self.context_info = json_field(metadata, "context", source)
        self.data_info = json_field(metadata, "data", source)

    def log_prob(self, x, context=None):
        """log p(x) of every row of x [N, D] (data units), with the context [N, K] or [K] of a
        conditional model (standardised here as the model's context record says)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ReaderError(f"expected rows of {self.dim} values, got an array of shape {list(x.shape)}")
        n, K = x.shape[0], self.context_dim
        ctx = None
        if K > 0:
            if context is None:
                raise ReaderError(f"this model is conditional: give a context of {K} values per row")
            ctx = np.atleast_2d(np.asarray(context, dtype=np.float64))
            if ctx.shape[1] != K or ctx.shape[0] not in (1, n):
                raise ReaderError(f"expected a context of {K} values per row, for 1 or {n} rows; got shape {list(ctx.shape)}")
            ctx = np.broadcast_to(ctx, (n, K))
            info = self.context_info or {}
            if info.get("mean") is not None and info.get("std") is not None:
                ctx = (ctx - np.asarray(info["mean"], float)) / np.asarray(info["std"], float)
        elif context is not None:
            raise ReaderError("this model is unconditional; leave the context out")
        shift = 0.0
        if self.preprocessing:
            # x̃ = (x − μ)/σ, and log p(x) = log p̃(x̃) − Σ_d log σ_d
            std = np.asarray(self.preprocessing["std"], float)
            x = (x - np.asarray(self.preprocessing["mean"], float)) / std
            shift = float(np.sum(np.log(std)))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            z, logdet = run_inverse(self.layers, x, ctx)
            return self.base.log_prob(self.base.params, z, ctx) + logdet - shift


def json_field(metadata, key, source, required=False):
    text = metadata.get(key)
    if text is None:
        if required:
            raise ReaderError(f"{source}: corrupt metadata (missing {key})")
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise ReaderError(f"{source}: corrupt metadata ({key} is not valid JSON)") from None


def load_model(path, data=None):
    """Reads and checks a model file (format 1 or 2) and returns a Model."""
    source = path
    if data is None:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise ReaderError(f"{path}: cannot read the model file ({e.strerror or e})") from None
    metadata, tensors = read_safetensors(data, source)
    if metadata.get("format") != FORMAT:
        raise ReaderError(f"{source}: not a normalizing-flows model file (format {metadata.get('format')!r})")
    try:
        version = int(metadata.get("formatVersion", ""))
    except ValueError:
        raise ReaderError(f"{source}: corrupt metadata (formatVersion {metadata.get('formatVersion')!r})") from None
    if version < 1:
        raise ReaderError(f"{source}: corrupt metadata (formatVersion {version})")
    if version > NEWEST_VERSION:
        raise ReaderError(f"{source}: model format version {version} is newer than this reader reads ({NEWEST_VERSION})")
    verify_checksum(data, metadata, tensors, version, source)
    config = json_field(metadata, "config", source, required=True)
    try:
        c = dict(config)
        if c["flow"] not in ("nice", "realnvp", "maf", "iaf"):
            raise ValueError(f"flow {c['flow']!r}")
        if metadata.get("dtype") not in ("float32", "float64"):
            raise ValueError(f"dtype {metadata.get('dtype')!r}")
        layers = config_layers(c)
        base = Base(c["base"], c["dim"], c["contextDim"], c["activation"])
        if version >= 2:
            described = json_field(metadata, "layers", source, required=True)
            if not isinstance(described, list):
                raise ValueError("layers must be a list")
            diff = first_difference(described, [l.describe() for l in layers])
            if diff:
                raise ReaderError(f"{source}: corrupt metadata ({diff}: the layer list disagrees with the config)")
            # the layers as the file describes them (equal to the config's, checked above)
            layers = described_layers(described, c["dim"], c)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ReaderError(f"{source}: invalid config in the metadata ({e})") from None
    attach_params(layers, base, tensors, version, source)
    return Model(metadata, c, layers, base, source)


# =============================================================================================
# CSV and the command line
# =============================================================================================


def read_csv(path):
    """A numeric CSV (comma, semicolon, tab or spaces; header optional and detected; '#' lines
    and blank lines skipped), as the library's loader reads it: (values [n, d], column names or None)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise ReaderError(f"{path}: cannot read ({e.strerror or e})") from None
    rows = [(i, l) for i, l in enumerate(lines) if l.strip() and not l.lstrip().startswith("#")]
    if not rows:
        raise ReaderError(f"{path}: no data (the file is empty)")
    first = rows[0][1]
    delim = next((d for d in (",", ";", "\t") if d in first), None)

    def split(line):
        return [f.strip().strip('"') for f in line.split(delim)] if delim else line.split()

    def number(f):
        try:
            v = float(f)
        except ValueError:
            return None
        return v if f.strip().lower() not in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity") else None

    head = split(first)
    header = any(number(f) is None for f in head)
    columns = head if header else None
    out = []
    for i, line in rows[1:] if header else rows:
        fields = split(line)
        if len(fields) != len(head):
            raise ReaderError(f"{path}: line {i + 1}: expected {len(head)} fields, got {len(fields)}")
        vals = [number(f) for f in fields]
        if any(v is None for v in vals):
            j = vals.index(None)
            raise ReaderError(f"{path}: line {i + 1}, column {j + 1}: expected a finite number, got {fields[j]!r}")
        out.append(vals)
    if not out:
        raise ReaderError(f"{path}: a header but no data rows")
    return np.asarray(out, dtype=np.float64), columns


def format_number(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return repr(float(v))


def warn(message):
    print(f"nflow_reader: warning: {message}", file=sys.stderr)


USAGE = "usage: python3 nflow_reader.py MODEL.nflow POINTS.csv [--context CTX.csv | --context v,v,...]"


def parse_args(argv):
    positional, context = [], None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(USAGE)
            print(__doc__.split("\n\n")[1])
            sys.exit(0)
        if a == "--context" or a.startswith("--context="):
            if a == "--context":
                if i + 1 >= len(argv):
                    raise UsageError("--context needs a value (a CSV file or comma-separated numbers)")
                context, i = argv[i + 1], i + 2
            else:
                context, i = a.split("=", 1)[1], i + 1
            continue
        if a.startswith("-") and a != "-":
            raise UsageError(f"unknown flag {a}")
        positional.append(a)
        i += 1
    if len(positional) != 2:
        raise UsageError(f"expected MODEL.nflow and POINTS.csv, got {len(positional)} argument(s)")
    return positional[0], positional[1], context


def main(argv):
    try:
        model_path, points_path, context_arg = parse_args(argv)
        model = load_model(model_path)
        x, columns = read_csv(points_path)
        K, D = model.context_dim, model.dim
        context = None
        names = (model.context_info or {}).get("columns") if K > 0 else None
        if K > 0 and context_arg is None and names and columns and all(n in columns for n in names):
            # the model's context columns inside the points file, as `nflow logprob` reads them
            idx = [columns.index(n) for n in names]
            context = x[:, idx]
            keep = [j for j in range(x.shape[1]) if j not in idx]
            x, columns = x[:, keep], [columns[j] for j in keep]
        elif K > 0 and context_arg is None:
            raise UsageError(f"this model is conditional: give --context CTX.csv or --context with {K} value(s)")
        elif K == 0 and context_arg is not None:
            raise UsageError("--context: this model is unconditional; leave --context out")
        elif context_arg is not None:
            if os.path.exists(context_arg):
                context, _ = read_csv(context_arg)
            else:
                try:
                    context = np.asarray([float(v) for v in context_arg.split(",")], dtype=np.float64)[None, :]
                except ValueError:
                    raise UsageError(f"--context: {context_arg!r} is neither a file nor comma-separated numbers") from None
            if context.shape[1] != K:
                raise UsageError(f"--context: this model takes {K} context value(s) per row, got {context.shape[1]}")
            if context.shape[0] not in (1, x.shape[0]):
                raise ReaderError(f"{context_arg}: expected 1 or {x.shape[0]} context rows (one per point), got {context.shape[0]}")
        data_columns = (model.data_info or {}).get("columns")
        if columns and data_columns and columns != data_columns and sorted(columns) == sorted(data_columns):
            # the stored column names, in the model's order
            x = x[:, [columns.index(n) for n in data_columns]]
        if x.shape[1] != D:
            raise ReaderError(f"{points_path}: expected {D} column(s) of x (the model's dimension), got {x.shape[1]}")
        lp = model.log_prob(x, context)
        sys.stdout.write("".join(format_number(v) + "\n" for v in lp))
        return 0
    except UsageError as e:
        print(f"nflow_reader: error: {e}", file=sys.stderr)
        return 2
    except ReaderError as e:
        print(f"nflow_reader: error: {e}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
