"""Check that executed notebooks show their figures as a reader's browser renders them.

Each notebook is converted with ``jupyter nbconvert --to html``, then opened in headless Chromium
(Debian: ``apt-get install chromium``), offline, in a new empty profile. A script added at the end
of the page counts, once the page has loaded, the PNG images the browser decoded; the count must
equal the number of PNG outputs the notebook holds. A screenshot of the top of each page is kept
beside its HTML, for a look by eye.

    python notebooks/check_html.py                                  # the committed notebooks
    python notebooks/check_html.py --out /tmp/html /tmp/nb/04_linear_and_simple_rnns.ipynb
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
#: Run in the page once it has loaded: the number of PNG images decoded, written into the title.
COUNTER = """<script>
window.addEventListener("load", () => {
  const shown = [...document.images].filter(
    (img) => img.src.startsWith("data:image/png") && img.complete && img.naturalWidth > 0);
  document.title = "figures shown: " + shown.length;
});
</script>"""


def browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("error: no Chromium found; on Debian: apt-get install -y chromium")


def figures_in(notebook_path: Path) -> int:
    notebook = nbformat.read(notebook_path, as_version=4)
    return sum("image/png" in output.get("data", {}) for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.get("outputs", []))


def to_html(notebook_path: Path, out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", "--output-dir", str(out), str(notebook_path)],
                   check=True, capture_output=True, text=True)
    page = out / f"{notebook_path.stem}.html"
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("</body>", COUNTER + "\n</body>", 1), encoding="utf-8")
    return page


def shown_in_chromium(page: Path, screenshot: Path, chromium: str) -> int | None:
    """The number of PNG images Chromium decoded in ``page``; None if the page did not report."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        common = [chromium, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=15000"]
        dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=300)
        subprocess.run([*common, "--window-size=1280,2400", f"--screenshot={screenshot}", page.as_uri()],
                       capture_output=True, text=True, timeout=300)
    found = re.search(r"<title>figures shown: (\d+)</title>", dom.stdout)
    return int(found.group(1)) if found else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="executed notebooks (default: the committed ones)")
    parser.add_argument("--out", type=Path, help="where the HTML and screenshots go (default: a temporary folder)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
    out = args.out or Path(tempfile.mkdtemp(prefix="ridership-html-"))
    out.mkdir(parents=True, exist_ok=True)
    chromium = browser()
    failed = 0
    for path in paths:
        expected = figures_in(path)
        page = to_html(path, out)
        screenshot = out / f"{path.stem}.png"
        shown = shown_in_chromium(page, screenshot, chromium)
        ok = shown == expected
        failed += not ok
        print(f"{path.name}: {expected} figure(s) in the notebook, {shown} shown by Chromium "
              f"({'ok' if ok else 'MISSING'}); screenshot {screenshot}", flush=True)
    print(f"{len(paths)} notebook(s), {failed} with figures missing; HTML in {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
