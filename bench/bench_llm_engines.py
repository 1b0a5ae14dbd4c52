"""llama.cpp bindings for the local LLM: install time and size, tokens/s, greedy text.

    python bench/bench_llm_engines.py install                     # the prebuilt wheels
    python bench/bench_llm_engines.py install --candidates llama-cpp-python   # source build
    .venv/bin/python bench/bench_llm_engines.py speed --binding xllamacpp
    python bench/bench_llm_engines.py report                      # the tables so far

`install` gives each candidate a fresh virtual environment under --workdir, measures what
`pip download` fetches for it (bytes, with its dependencies) and times `pip install
--no-cache-dir` (download and, for llama-cpp-python, the compile), then runs `speed` inside
that environment. `speed` needs only the binding (not the assistant): for each model
assembled by `assistant llm setup` it times loading, then a chat prompt of about 600 tokens
made from the sample release, cold (no cached prefix: prompt tokens/s from the time to the
first token) and greedy generation (tokens/s between the first and the last token; for
ik-llama-cpp-python, which does not stream, both rates from llama.cpp's counters), then the
same prompt with another question (the fixed head cached, where the binding keeps it: time
to the first token). The greedy replies are kept, so `report` can say whether bindings
write the same text. A binding that crashes (llama-cpp-python built on a CPU with AMX) is
recorded with its exit status. Results: OUT/install.json, OUT/speed-<binding>.json.
Nothing here asserts a threshold; run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench/results/llm_engines"
MODELS = {"1.5b": "qwen2.5-coder-1.5b-instruct.gguf", "0.5b": "qwen2.5-coder-0.5b-instruct.gguf"}
# name -> (pip requirement, module, prebuilt only)
CANDIDATES = {
    "xllamacpp": ("xllamacpp==2026.10.11549", "xllamacpp", True),
    "cyllama": ("cyllama==0.2.18", "cyllama", True),
    "ik-llama-cpp-python": ("ik-llama-cpp-python==0.1.5", "ik_llama_cpp", True),
    "llama-cpp-python": ("llama-cpp-python==0.3.36", "llama_cpp", False),
}
SYSTEM = "You answer questions about the press release below in one or two sentences."
QUESTIONS = ("What did the deputies propose to Guangxi?", "Who received the delegation?")


def models_dir() -> Path:
    """Where `assistant llm setup` assembled the models (the assistant's own rule)."""
    if os.environ.get("ASSISTANT_LLM_MODELS_DIR"):
        return Path(os.environ["ASSISTANT_LLM_MODELS_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "kemenko-assistant" / "llm"


def messages(question: str, chars: int) -> list[dict[str, str]]:
    """A chat of about chars/4 tokens: the sample release, then the question."""
    release = " ".join(next((ROOT / "corpus").glob("*.txt")).read_text().split())
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"{release[:chars]}\n\nQuestion: {question}"}]


# one driver per binding: load(path, n_ctx, threads); chat(messages, n, cold) -> pieces ------


class Xllamacpp:
    """llama.cpp's server code in-process, set up as the assistant sets it up."""

    def load(self, path: str, n_ctx: int, threads: int) -> None:
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path, params.n_ctx, params.n_parallel = path, n_ctx * 2, 2
        params.cache_ram_mib, params.verbosity = 0, -1
        params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads
        self.folder = tempfile.TemporaryDirectory()
        params.hostnames = [str(Path(self.folder.name) / "llm.sock")]
        self.server = xllamacpp.Server(params)
        self.n_prompt: int | None = None

    def chat(self, chat: list[dict[str, str]], n: int, cold: bool) -> Iterator[str]:
        chunks: list[Any] = []
        done = threading.Event()
        request = {"messages": chat, "max_tokens": n, "stream": True, "temperature": 0.0,
                   "top_k": 1, "cache_prompt": not cold}

        def run() -> None:
            self.server.handle_chat_completions(request, chunks.append)
            done.set()

        threading.Thread(target=run, daemon=True).start()
        seen = 0
        while not done.is_set() or seen < len(chunks):
            if seen == len(chunks):
                time.sleep(0.001)
                continue
            chunk, seen = chunks[seen], seen + 1
            if "timings" in chunk:
                self.n_prompt = chunk["timings"]["prompt_n"] + chunk["timings"]["cache_n"]
            for choice in chunk.get("choices") or ():
                if (choice.get("delta") or {}).get("content"):
                    yield choice["delta"]["content"]


class LlamaCppPython:
    """llama-cpp-python's Llama, as the assistant's llama-cpp-python backend uses it."""

    def load(self, path: str, n_ctx: int, threads: int) -> None:
        from llama_cpp import Llama

        self.llama = Llama(model_path=path, n_ctx=n_ctx, n_threads=threads,
                           n_threads_batch=threads, n_batch=512, verbose=False)
        self.n_prompt: int | None = None

    def chat(self, chat: list[dict[str, str]], n: int, cold: bool) -> Iterator[str]:
        if cold:
            self.llama.reset()  # forget the prefix it would reuse
        for piece in self.llama.create_chat_completion(messages=chat, stream=True, top_k=1,
                                                       temperature=0.0, max_tokens=n,
                                                       repeat_penalty=1.0):
            if piece["choices"][0]["delta"].get("content"):
                yield piece["choices"][0]["delta"]["content"]


class Cyllama:
    """cyllama's LLM (clears its cache on every call); threads set on its context."""

    def load(self, path: str, n_ctx: int, threads: int) -> None:
        from cyllama import LLM

        self.llm = LLM(path, n_ctx=n_ctx, temperature=0.0, top_k=1, repeat_penalty=1.0)
        # cyllama's LLM has no public way to set the decode threads: its private context
        # accessor is the only one (third-party, pinned to cyllama==0.2.18 above)
        self.llm._ensure_context(0, self.llm.config).set_n_threads(threads, threads)
        self.n_prompt: int | None = None

    def chat(self, chat: list[dict[str, str]], n: int, cold: bool) -> Iterator[str]:
        from dataclasses import replace

        yield from self.llm.chat(chat, config=replace(self.llm.config, max_tokens=n),
                                 stream=True)


class IkLlamaCppPython:
    """ik_llama.cpp: no chat template for Qwen and no streaming; ChatML by hand, perf()."""

    def load(self, path: str, n_ctx: int, threads: int) -> None:
        from ik_llama_cpp import IkLlama

        self.llama = IkLlama(path, n_ctx=n_ctx, n_threads=threads, verbose=False)
        self.n_prompt: int | None = None

    def chat(self, chat: list[dict[str, str]], n: int, cold: bool) -> Iterator[str]:
        prompt = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in chat)
        tokens = self.llama.tokenize(prompt + "<|im_start|>assistant\n", add_bos=False,
                                     special=True)
        self.n_prompt = len(tokens)
        generated = self.llama.generate(tokens, max_tokens=n, temperature=0.0, top_k=1)
        # IkLlama exposes llama.cpp's prompt/eval timings (which the comparison needs) only
        # on its private context (third-party, pinned to ik-llama-cpp-python==0.1.5 above)
        perf = self.llama._context.perf()
        self.perf = perf
        yield self.llama.detokenize(generated)


DRIVERS = {"xllamacpp": Xllamacpp, "llama-cpp-python": LlamaCppPython, "cyllama": Cyllama,
           "ik-llama-cpp-python": IkLlamaCppPython}


def timed(driver: Any, chat: list[dict[str, str]], n: int, cold: bool) -> dict[str, Any]:
    """One generation: time to the first piece, pieces/s after it, the text."""
    start = time.perf_counter()
    stamps, text = [], ""
    for piece in driver.chat(chat, n, cold):
        stamps.append(time.perf_counter() - start)
        text += piece
    row: dict[str, Any] = {"ttft_s": stamps[0] if stamps else None, "n_pieces": len(stamps),
                           "total_s": time.perf_counter() - start, "text": text,
                           "n_prompt": driver.n_prompt}
    if len(stamps) > 2:
        row["gen_tok_s"] = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    perf = getattr(driver, "perf", None)
    if perf:  # no streaming: the time to the "first token" is the whole reply; llama.cpp's
        row["engine_perf"] = perf  # own counters give the two rates instead
        if perf.get("n_eval") and perf.get("t_eval_ms"):
            row["gen_tok_s"] = perf["n_eval"] / perf["t_eval_ms"] * 1000
        if perf.get("n_p_eval") and perf.get("t_p_eval_ms"):
            row["prompt_tok_s"] = perf["n_p_eval"] / perf["t_p_eval_ms"] * 1000
    return row


def speed(args: argparse.Namespace) -> dict[str, Any]:
    """Load, cold prompt, generation and warm prompt per model, median of the repeats."""
    results: dict[str, Any] = {"binding": args.binding, "threads": args.threads,
                               "machine": machine(), "models": {}}
    for name in args.models.split(","):
        path = models_dir() / MODELS[name]
        driver = DRIVERS[args.binding]()
        start = time.perf_counter()
        driver.load(str(path), args.n_ctx, args.threads)
        model: dict[str, Any] = {"load_s": time.perf_counter() - start, "cold": [], "warm": []}
        for _ in range(args.repeats):
            model["cold"].append(timed(driver, messages(QUESTIONS[0], args.chars),
                                       args.gen_tokens, True))
            model["warm"].append(timed(driver, messages(QUESTIONS[1], args.chars),
                                       args.gen_tokens, False))
        model["summary"] = summary(model)
        results["models"][name] = model
        print(f"{args.binding} {name}: {json.dumps(model['summary'])}", file=sys.stderr)
    return results


def summary(model: dict[str, Any]) -> dict[str, Any]:
    """Medians over the repeats; prompt tokens/s = prompt tokens / cold time to first token."""
    cold, warm = model["cold"], model["warm"]
    n_prompt = next((r["n_prompt"] for r in cold if r["n_prompt"]), None)
    ttft = _median(r["ttft_s"] for r in cold)
    prompt_rate = _median(r.get("prompt_tok_s") for r in cold) or (
        round(n_prompt / ttft, 1) if n_prompt and ttft else None)
    return {"load_s": round(model["load_s"], 3), "n_prompt": n_prompt,
            "ttft_cold_s": ttft, "ttft_warm_s": _median(r["ttft_s"] for r in warm),
            "prompt_tok_s": prompt_rate,
            "gen_tok_s": _median(r.get("gen_tok_s") for r in cold),
            "total_cold_s": _median(r["total_s"] for r in cold),
            "text": cold[0]["text"] if cold else None}


def _median(values: Any) -> float | None:
    kept = [v for v in values if v is not None]
    return round(statistics.median(kept), 3) if kept else None


def machine() -> dict[str, Any]:
    """CPU count, platform, load and the CPU's AMX/AVX-512 flags."""
    cpuinfo = Path("/proc/cpuinfo")
    flags = cpuinfo.read_text().split() if cpuinfo.is_file() else []
    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "load_average": os.getloadavg(),
            "features": sorted({f for f in flags if f.startswith(("amx", "avx512", "avx2"))})}


# install: a fresh environment per candidate ---------------------------------------------


def install(args: argparse.Namespace) -> None:
    """Download size and install time per candidate, then its speed in its environment."""
    args.out.mkdir(parents=True, exist_ok=True)
    table_path = args.out / "install.json"
    table = json.loads(table_path.read_text()) if table_path.exists() else {}
    for name in args.candidates.split(","):
        row = install_one(name, args.workdir / name, args)
        table[name] = row
        table_path.write_text(json.dumps(table, indent=1) + "\n")
        print(f"{name}: {json.dumps({k: v for k, v in row.items() if k != 'log'})}",
              file=sys.stderr)
    print(install_table(table))


def install_one(name: str, venv: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One candidate: pip download (bytes), pip install --no-cache-dir (seconds), speed."""
    spec, module, prebuilt = CANDIDATES[name]
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    python = venv / "bin" / "python"
    binary = ["--only-binary", ":all:"] if prebuilt else []
    with tempfile.TemporaryDirectory() as fetched:
        start = time.perf_counter()
        got = _pip(python, ["download", *binary, "-d", fetched, spec])
        row: dict[str, Any] = {"spec": spec, "download_s": round(time.perf_counter() - start, 1),
                               "files": sorted(p.name for p in Path(fetched).iterdir()),
                               "download_bytes": sum(p.stat().st_size
                                                     for p in Path(fetched).iterdir())}
    if got.returncode:
        return {**row, "ok": False, "log": got.stdout[-2000:]}
    start = time.perf_counter()
    done = _pip(python, ["install", "--no-cache-dir", *binary, spec])
    row["install_s"] = round(time.perf_counter() - start, 1)
    check = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True,
                           text=True)
    row.update(ok=not done.returncode and not check.returncode,
               import_error=check.stderr.strip().splitlines()[-1:] if check.returncode else [])
    if row["ok"] and not args.no_speed:
        row["speed"] = run_speed(python, name, args)
    return row


def _pip(python: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CMAKE_ARGS": "-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"}
    return subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", *argv],
                          capture_output=True, text=True, env=env)


def run_speed(python: Path, name: str, args: argparse.Namespace) -> dict[str, Any]:
    """`speed` in the candidate's environment; its exit status when it crashes."""
    out = args.out / f"speed-{name}.json"
    argv = [str(python), __file__, "speed", "--binding", name, "--models", args.models,
            "--repeats", str(args.repeats), "--threads", str(args.threads), "--json", str(out),
            "--n-ctx", str(args.n_ctx), "--chars", str(args.chars),
            "--gen-tokens", str(args.gen_tokens)]
    ran = subprocess.run(argv, capture_output=True, text=True, timeout=args.timeout)
    if ran.returncode:
        return {"exit_status": ran.returncode, "stderr": ran.stderr[-1500:]}
    return {model: s["summary"] for model, s in json.loads(out.read_text())["models"].items()}


# report ---------------------------------------------------------------------------------


def install_table(table: dict[str, Any]) -> str:
    """Install and speed per candidate, as Markdown.

    A binding that does not report its prompt's token count gets another binding's for the
    same model (same GGUF tokenizer and chat template, same prompt).
    """
    counts = {model: s["n_prompt"] for row in table.values()
              for model, s in (row.get("speed") or {}).items()
              if isinstance(s, dict) and s.get("n_prompt")}
    for row in table.values():
        for model, s in (row.get("speed") or {}).items():
            if isinstance(s, dict) and not s.get("prompt_tok_s") and s.get("ttft_cold_s") \
                    and model in counts:
                s["prompt_tok_s"] = round(counts[model] / s["ttft_cold_s"], 1)
    lines = ["| candidate | download MB | install s | loads | model | load s | prompt tok/s "
             "| gen tok/s | first token cold / warm s |", "|" + "---|" * 9]
    for name, row in table.items():
        speeds = row.get("speed") or {}
        head = (f"| {name} ({row['spec']}) | {row.get('download_bytes', 0) / 1e6:.1f} | "
                f"{row.get('install_s', 'n/a')} | {'yes' if row.get('ok') else 'no'}")
        if "exit_status" in speeds:
            lines.append(f"{head} | all | crashed: exit {speeds['exit_status']} | | | |")
            continue
        for model, s in speeds.items():
            lines.append(f"{head} | {model} | {s.get('load_s')} | {s.get('prompt_tok_s')} | "
                         f"{s.get('gen_tok_s')} | {s.get('ttft_cold_s')} / "
                         f"{s.get('ttft_warm_s')} |")
        if not speeds:
            lines.append(f"{head} | | | | | |")
    return "\n".join(lines)


def same_text(out: Path) -> dict[str, Any]:
    """Per model: which bindings wrote exactly the same greedy reply."""
    texts: dict[str, dict[str, str]] = {}
    for path in sorted(out.glob("speed-*.json")):
        result = json.loads(path.read_text())
        for model, s in result["models"].items():
            texts.setdefault(model, {})[result["binding"]] = s["summary"]["text"]
    return {model: {"groups": _groups(by_binding), "texts": by_binding}
            for model, by_binding in texts.items()}


def _groups(by_binding: dict[str, str]) -> list[list[str]]:
    groups: dict[str, list[str]] = {}
    for binding, text in by_binding.items():
        groups.setdefault(text, []).append(binding)
    return list(groups.values())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["install", "speed", "report"])
    parser.add_argument("--candidates", default="xllamacpp,cyllama,ik-llama-cpp-python",
                        help="install: comma-separated, of " + ", ".join(CANDIDATES))
    parser.add_argument("--binding", choices=list(DRIVERS), default="xllamacpp")
    parser.add_argument("--models", default="1.5b,0.5b")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--chars", type=int, default=2400,
                        help="release characters in the prompt (~4 per token)")
    parser.add_argument("--gen-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-speed", action="store_true", help="install: sizes and times only")
    parser.add_argument("--timeout", type=float, default=1800, help="speed run, seconds")
    parser.add_argument("--workdir", type=Path,
                        default=Path(tempfile.gettempdir()) / "bench-llm-engines")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--json", type=Path, default=None, help="speed: where to write")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the command; print and write JSON."""
    args = parse_args(argv)
    if args.command == "install":
        install(args)
    elif args.command == "speed":
        result = speed(args)
        path = args.json or args.out / f"speed-{args.binding}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps({m: r["summary"] for m, r in result["models"].items()}, indent=1))
    else:
        table_path = args.out / "install.json"
        if table_path.exists():
            print(install_table(json.loads(table_path.read_text())))
        same = same_text(args.out)
        (args.out / "same_text.json").write_text(json.dumps(same, indent=1) + "\n")
        for model, result in same.items():
            print(f"{model}: bindings writing the same greedy reply: {result['groups']}")


if __name__ == "__main__":
    main()
