"""Execute the notebooks into their files, each top to bottom in a fresh kernel, and check what they hold.

The committed notebooks carry the outputs of one full run: full mode, the default backend (JAX
when installed; ``KERAS_BACKEND`` and ``RIDERSHIP_QUICK`` of the caller are dropped), seed 42
(the package's ``FIRST_SEED``, which every notebook uses), ``RIDERSHIP_RESULTS`` dropped so that
notebook 10 reads the committed table. One notebook at a time: each is written atomically as soon
as it has run, so an interrupted run resumes where it stopped (a notebook whose outputs are
already those of this kind of run, with every cell's hash matching, is skipped; ``--force``
reruns it). A notebook whose execution fails is not written: its file keeps what it held.

Every executed code cell records the sha256 of its source in ``metadata.ridership.source_sha256``
and the notebook records the run in ``metadata.ridership`` (mode, backend, seed, command, seconds);
a line that a progress bar rewrote with carriage returns keeps its last state only.
:func:`problems` is what ``tests/test_notebook_outputs.py`` checks: a cell edited since it ran
(its hash), an error or traceback, TensorFlow's or absl's start-up noise, a path of the machine.

    python notebooks/execute.py                        # every notebook, the full run (hours)
    python notebooks/execute.py 04 09                  # a subset, by number or by name
    python notebooks/execute.py --quick --out /tmp/nb 04   # quick mode, into another folder
    python notebooks/execute.py --check [--out DIR]    # check the executed files, execute nothing
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KEY = "ridership"  # the metadata key, in each code cell and in the notebook
#: The committed notebooks together, at most (figures are PNG at the inline backend's size).
MAX_TOTAL_BYTES = 10 * 1024 * 1024
#: Start-up and runtime noise of TensorFlow, absl, XLA and malloc tuning, or a crash.
NOISE = ("absl::", "WARNING: All log messages before absl", "oneDNN", "cpu_feature_guard", "retracing",
         "Memory patch", "Traceback", "E0000", "W0000", "I0000", "XLA service", "TF-TRT Warning")
#: Paths that belong to the machine a notebook ran on, not to the reader's.
MACHINE_PATH = re.compile(r"(?<![\w.])(/home/|/Users/|/root/|/work/|/tmp/|/var/folders/|/private/var/|/opt/|"
                          r"/usr/(local/)?lib/python|site-packages|[A-Za-z]:\\\\?Users)")
#: Base64 payloads (figures, audio): any word can turn up in them by chance.
EMBEDDED = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")
#: Environment variables a full run must not inherit: it is the default backend, full mode, the committed table.
DROPPED = ("KERAS_BACKEND", "RIDERSHIP_QUICK", "RIDERSHIP_RESULTS", "TF_ENABLE_ONEDNN_OPTS")


def notebooks(folder: Path = HERE) -> list[Path]:
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def select(names: list[str], folder: Path = HERE) -> list[Path]:
    """The notebooks named by number (``4``, ``04``) or name (with or without ``.ipynb``); all if none."""
    every = notebooks(folder)
    if not names:
        return every
    chosen = []
    for name in names:
        stem = name.removesuffix(".ipynb")
        found = [p for p in every if p.stem == stem or (stem.isdigit() and int(p.name[:2]) == int(stem))]
        if not found:
            raise SystemExit(f"error: no notebook {name!r} in {folder.name}/; "
                             f"choose from {', '.join(p.name[:2] for p in every)}")
        chosen.extend(p for p in found if p not in chosen)
    return chosen


def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def output_text(output) -> str:
    """The text an output shows: a stream, a value's text representations, an error; no base64."""
    if output.output_type == "stream":
        text = output.get("text", "")
    elif output.output_type == "error":
        text = "\n".join([output.get("ename", ""), output.get("evalue", ""), *output.get("traceback", [])])
    else:
        data = output.get("data", {})
        text = "\n".join(str(v) for k, v in data.items() if k.startswith("text/") or k.endswith("json"))
    return EMBEDDED.sub("data:...", text)


def problems(notebook, name: str = "notebook") -> list[str]:
    """What is wrong with an executed notebook's outputs, one line each; [] when nothing is."""
    found = []
    code = [c for c in notebook.cells if c.cell_type == "code"]
    if code and not any(c.get("outputs") for c in code):
        return [f"{name}: no outputs: it was never executed (python notebooks/execute.py {name[:2]})"]
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        where = f"{name}, cell {index} ({cell.get('id', '?')})"
        recorded = cell.get("metadata", {}).get(KEY, {}).get("source_sha256")
        if recorded is None:
            found.append(f"{where}: no source hash: it was not executed by notebooks/execute.py")
        elif recorded != source_hash(cell.source):
            found.append(f"{where}: edited since its outputs were made (stale): rerun notebooks/execute.py {name[:2]}")
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"{where}: an error: {output.get('ename')}: {output.get('evalue')}")
                continue
            text = output_text(output)
            noise = [word for word in NOISE if word in text]
            if noise:
                found.append(f"{where}: noise in an output: {noise[0]!r}")
            path = MACHINE_PATH.search(text)
            if path:
                line = next(line for line in text.splitlines() if path.group(0) in line)
                found.append(f"{where}: a path of the machine in an output: {line.strip()[:120]!r}")
    return found


def too_big(paths: list[Path]) -> str | None:
    total = sum(p.stat().st_size for p in paths)
    if total > MAX_TOTAL_BYTES:
        sizes = ", ".join(f"{p.name[:2]} {p.stat().st_size / 1e6:.1f} MB" for p in paths)
        return f"the notebooks total {total / 1e6:.1f} MB, over {MAX_TOTAL_BYTES / 1e6:.1f} MB: {sizes}"
    return None


def _last_state(text: str) -> str:
    """A stream's text with each line as a terminal shows it: what follows its last carriage return."""
    return "\n".join(line.rsplit("\r", 1)[-1].rstrip(" ") for line in text.split("\n"))


#: A value's default text, which names its address in memory: new at every run, and useless beside its HTML.
ADDRESS_ONLY = re.compile(r"^<[\w.]+ (object )?at 0x[0-9a-f]+>$")


def tidy(notebook) -> None:
    """Merge each cell's consecutive streams of one name, keep each rewritten line's last state, and
    drop a value's text that only gives its address when the value has another representation."""
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if len(data) > 1 and ADDRESS_ONLY.match(str(data.get("text/plain", "")).strip()):
                del data["text/plain"]
        merged = []
        for output in cell.get("outputs", []):
            if (output.output_type == "stream" and merged and merged[-1].output_type == "stream"
                    and merged[-1].name == output.name):
                merged[-1].text += output.text
            else:
                merged.append(output)
        for output in merged:
            if output.output_type == "stream":
                output.text = _last_state(output.text)
        cell.outputs = merged


def environment(quick: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    if quick:
        env["RIDERSHIP_QUICK"] = "1"
    return env


def machine() -> str:
    """The processor and its cores, as the README's tables name the machine."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()}-core {model}"


def up_to_date(source: Path, target: Path, quick: bool) -> bool:
    """True when ``target`` holds outputs of this kind of run made from ``source``'s cells as they
    are now (the same cells, every code cell's hash matching), with no problem."""
    if not target.is_file():
        return False
    notebook = nbformat.read(target, as_version=4)
    if notebook.metadata.get(KEY, {}).get("mode") != ("quick" if quick else "full"):
        return False
    cells = [(c.cell_type, c.source) for c in nbformat.read(source, as_version=4).cells]
    return cells == [(c.cell_type, c.source) for c in notebook.cells] and not problems(notebook, target.name)


def write_atomically(notebook, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            nbformat.write(notebook, f)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def execute(source: Path, target: Path, quick: bool = False, timeout: int = 7200) -> float:
    """Run ``source`` in a fresh kernel (its working folder: the notebooks' folder) and write it,
    with its outputs and hashes, to ``target``; return the seconds it took. Raises on a failing cell."""
    from nbclient import NotebookClient

    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop(KEY, None)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(source.parent)}})
    tick = time.perf_counter()
    client.execute(env=environment(quick))
    seconds = time.perf_counter() - tick
    backend = "?"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.metadata[KEY] = {"source_sha256": source_hash(cell.source)}
            found = re.search(r"Keras backend: (\w+)", "".join(output_text(o) for o in cell.outputs))
            backend = found.group(1) if found and backend == "?" else backend
    tidy(notebook)
    mode = "quick" if quick else "full"
    notebook.metadata[KEY] = {"mode": mode, "backend": backend, "seed": 42, "machine": machine(),
                              "command": "python notebooks/execute.py" + (" --quick" if quick else ""),
                              "seconds": round(seconds)}
    write_atomically(notebook, target)
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks by number or name (default: every one)")
    parser.add_argument("--quick", action="store_true", help="RIDERSHIP_QUICK=1: 2 epochs per training (a check)")
    parser.add_argument("--out", type=Path, help="write the executed notebooks here instead of over the sources")
    parser.add_argument("--force", action="store_true", help="rerun notebooks that are already up to date")
    parser.add_argument("--check", action="store_true", help="execute nothing: check the executed files")
    parser.add_argument("--timeout", type=int, default=7200, help="seconds allowed per cell (default: 7200)")
    args = parser.parse_args(argv)
    sources = select(args.names)
    folder = args.out or HERE
    targets = [folder / p.name for p in sources]
    if not args.check:
        total = time.perf_counter()
        for source, target in zip(sources, targets):
            if not args.force and up_to_date(source, target, args.quick):
                print(f"{source.name}: up to date, skipped", flush=True)
                continue
            print(f"{source.name}: running ...", flush=True)
            try:
                seconds = execute(source, target, args.quick, args.timeout)
            except Exception as exc:  # a failing cell: say which, keep the file as it was, go on
                last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
                print(f"{source.name}: FAILED, not written: {last}", flush=True)
                continue
            print(f"{source.name}: {seconds:,.0f} s, {target.stat().st_size / 1e6:.2f} MB", flush=True)
        print(f"wall time {time.perf_counter() - total:,.0f} s")
    found = []
    for target in targets:
        if not target.is_file():
            found.append(f"{target.name}: not written")
            continue
        found.extend(problems(nbformat.read(target, as_version=4), target.name))
    size = too_big([t for t in targets if t.is_file()])
    found.extend([size] if size else [])
    for line in found:
        print(line)
    print(f"{len(targets)} notebook(s), {len(found)} problem(s); "
          f"{sum(t.stat().st_size for t in targets if t.is_file()) / 1e6:.2f} MB")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
