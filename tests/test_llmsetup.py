"""`assistant llm setup`: assembling the local model from part packages, verified or refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.answer import llmsetup
from assistant.answer.llmsetup import LocalModel, Part
from assistant.cli import main
from assistant.errors import ConfigError, ModelSetupError

SLICES = [b"GGUF" + bytes(range(256)) * 40, bytes(range(255, -1, -1)) * 33, b"tail" * 999]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def fake_model(tmp_path: Path) -> tuple[LocalModel, dict[str, Path]]:
    """A three-part model whose slices lie in tmp_path/parts, with a locator over them."""
    folder = tmp_path / "parts"
    folder.mkdir()
    parts, files = [], {}
    for n, data in enumerate(SLICES, start=1):
        part = Part(f"fake-model-part{n}", "1.0", _sha(data), len(data))
        files[part.package] = folder / f"part{n:02d}.bin"
        files[part.package].write_bytes(data)
        parts.append(part)
    whole = b"".join(SLICES)
    model = LocalModel("tiny", "Tiny test model", "tiny.gguf", len(whole), _sha(whole),
                       tuple(parts))
    return model, files


def _locator(files: dict[str, Path]) -> llmsetup.PartLocator:
    def locate(part: Part) -> Path:
        if part.package not in files or not files[part.package].exists():
            raise ModelSetupError(f"{part.package} is not installed: {llmsetup.INSTALL_HINT}")
        return files[part.package]
    return locate


def test_good_parts_assemble_into_a_verified_file(fake_model, tmp_path: Path) -> None:
    model, files = fake_model
    seen: list[tuple[int, int]] = []
    path, reused = llmsetup.setup(model, tmp_path / "models", _locator(files),
                                  progress=lambda done, total: seen.append((done, total)))
    assert (path, reused) == (tmp_path / "models" / "tiny.gguf", False)
    assert path.read_bytes() == b"".join(SLICES)
    assert seen[-1] == (model.size, model.size)
    assert [p.name for p in path.parent.iterdir()] == ["tiny.gguf"]  # no temporary left
    assert llmsetup.setup(model, tmp_path / "models", _locator(files)) == (path, True)


def test_a_corrupted_part_is_named_and_nothing_is_left_to_load(fake_model, tmp_path: Path) -> None:
    model, files = fake_model
    data = bytearray(SLICES[1])
    data[100] ^= 0xFF  # same size, one byte flipped
    files["fake-model-part2"].write_bytes(bytes(data))
    with pytest.raises(ModelSetupError, match="fake-model-part2 is corrupted.*reinstall it: "
                       r"pip install --force-reinstall fake-model-part2==1.0"):
        llmsetup.setup(model, tmp_path / "models", _locator(files))
    assert list((tmp_path / "models").iterdir()) == []


def test_a_missing_part_is_named_before_anything_is_written(fake_model, tmp_path: Path) -> None:
    model, files = fake_model
    files["fake-model-part3"].unlink()
    with pytest.raises(ModelSetupError, match=r"fake-model-part3 is not installed: "
                       r"pip install -e '\.\[local-llm\]'"):
        llmsetup.setup(model, tmp_path / "models", _locator(files))
    assert not (tmp_path / "models").exists()


def test_a_truncated_part_fails_on_its_size(fake_model, tmp_path: Path) -> None:
    model, files = fake_model
    files["fake-model-part1"].write_bytes(SLICES[0][:-10])
    with pytest.raises(ModelSetupError, match="fake-model-part1: 10,234 bytes, expected 10,244"):
        llmsetup.setup(model, tmp_path / "models", _locator(files))
    assert not (tmp_path / "models").exists()


def test_a_failed_reassembly_keeps_the_verified_file(fake_model, tmp_path: Path) -> None:
    model, files = fake_model
    path, _ = llmsetup.setup(model, tmp_path / "models", _locator(files))
    files["fake-model-part2"].write_bytes(bytes(len(SLICES[1])))
    with pytest.raises(ModelSetupError, match="fake-model-part2 is corrupted"):
        llmsetup.setup(model, tmp_path / "models", _locator(files), force=True)
    assert path.read_bytes() == b"".join(SLICES)
    assert [p.name for p in path.parent.iterdir()] == ["tiny.gguf"]


def test_a_damaged_model_file_is_assembled_again(fake_model, tmp_path: Path) -> None:
    model, files = fake_model
    path, _ = llmsetup.setup(model, tmp_path / "models", _locator(files))
    path.write_bytes(b"not a model")
    assert llmsetup.setup(model, tmp_path / "models", _locator(files)) == (path, False)
    assert path.read_bytes() == b"".join(SLICES)


@pytest.mark.parametrize(("part", "message"), [
    (Part("no-such-model-part-xyz", "1.0", "0" * 64, 1),
     r"no-such-model-part-xyz is not installed: pip install -e '\.\[local-llm\]'"),
    (Part("click", "0.0.1", "0" * 64, 1), r"click 8\.\S+ is installed, the model needs 0\.0\.1"),
    (Part("click", "8.5.1", "0" * 64, 1), r"click has no model data file"),
])
def test_installed_part_explains_what_to_install(part: Part, message: str) -> None:
    with pytest.raises(ModelSetupError, match=message):
        llmsetup.installed_part(part)


@pytest.mark.parametrize("name", list(llmsetup.MODELS))
def test_pinned_parts_add_up_to_the_pinned_model(name: str) -> None:
    model = llmsetup.MODELS[name]
    assert sum(p.size for p in model.parts) == model.size
    assert len({p.package for p in model.parts}) == len(model.parts)


@pytest.mark.parametrize(("spec", "expected"), [
    ("local", "1.5b"), ("local:1.5b", "1.5b"), ("local:0.5b", "0.5b"),
    (None, None), ("openai", None), ("gguf:/models/x.gguf", None),
])
def test_parse_local(spec: str | None, expected: str | None) -> None:
    model = llmsetup.parse_local(spec)
    assert (model.name if model else None) == expected


def test_an_unknown_local_model_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match="no local model '7b'; choose from 1.5b, 0.5b"):
        llmsetup.parse_local("local:7b")


def test_a_model_not_set_up_says_which_command_to_run(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run `assistant llm setup --model 0.5b`"):
        llmsetup.assembled_file(llmsetup.MODELS["0.5b"], tmp_path)
    (tmp_path / llmsetup.MODELS["1.5b"].filename).write_bytes(b"short")
    with pytest.raises(ConfigError, match="run `assistant llm setup`"):
        llmsetup.assembled_file(llmsetup.MODELS["1.5b"], tmp_path)


def test_cli_setup_names_the_missing_package(fake_model, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the real importlib lookup: the fake part packages are not installed."""
    model, _ = fake_model
    monkeypatch.setitem(llmsetup.MODELS, "0.5b", model)
    result = CliRunner().invoke(main, ["llm", "setup", "--model", "0.5b", "-q",
                                       "--dest", str(tmp_path / "models")])
    assert result.exit_code == 1
    assert "fake-model-part1 is not installed: pip install -e '.[local-llm]'" in result.output
    assert "fake-model-part3 is not installed" in result.output
    assert not (tmp_path / "models").exists()


# one machine-wide model cache that every index shares -------------------------------------


def test_models_live_in_the_user_cache_whatever_the_index(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.config import Settings

    monkeypatch.delenv("ASSISTANT_LLM_MODELS_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    shared = tmp_path / "home" / ".cache" / "kemenko-assistant" / "llm"
    assert Settings(index_dir=tmp_path / "a").local_models_dir == shared
    assert Settings(index_dir=tmp_path / "b").local_models_dir == shared
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert Settings().local_models_dir == tmp_path / "xdg" / "kemenko-assistant" / "llm"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # invalid per the XDG spec: ignored
    assert Settings().local_models_dir == shared
    monkeypatch.setenv("ASSISTANT_LLM_MODELS_DIR", str(tmp_path / "mine"))
    assert Settings().local_models_dir == tmp_path / "mine"


def test_cli_setup_assembles_into_the_shared_cache(fake_model, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`assistant llm setup` without --dest: the cache, found again from another index."""
    from assistant.config import Settings

    model, files = fake_model
    monkeypatch.setitem(llmsetup.MODELS, "0.5b", model)
    monkeypatch.setattr(llmsetup, "installed_part", _locator(files))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ASSISTANT_LLM_MODELS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["llm", "setup", "--model", "0.5b", "-q"])
    assert result.exit_code == 0, result.output
    cached = tmp_path / "cache" / "kemenko-assistant" / "llm" / "tiny.gguf"
    assert str(cached) in result.output and cached.read_bytes() == b"".join(SLICES)
    for index in ("index", "other-index"):
        assert llmsetup.assembled_file(model, Settings(index_dir=tmp_path / index)
                                       .local_models_dir) == cached
    assert not (tmp_path / "index").exists()  # nothing assembled under an index
