"""Our validation MAEs against the recipe's spread over seeds, from runs already saved.

Reads the recipe's runs saved by ``speed.py --recipe-seeds K`` (``DIR/recipe/<name>-seed<N>.json``)
and ours saved by ``ridership reproduce --seeds M --out OURS`` (``OURS/runs/<name>-seed<N>.json``),
and prints, per network:

- the recipe's and our minimum, median and maximum over the seeds each side has;
- ``inside``: our seed-42 MAE (what ``ridership reproduce`` gives with its defaults) lies within
  the recipe's minimum to maximum - the speed issue's criterion, read literally;
- ``overlap``: the two ranges overlap;
- ``p``: the exact two-sided Mann-Whitney p-value of "both sides draw their MAEs from the same
  distribution" (small: the sides differ more than their seeds do).

Why all three: the two backends draw different initial weights from the same seed, so our
seed 42 is one more draw, not the recipe's run again. Even a draw from the recipe's own
distribution lands inside the minimum-maximum of n other draws only with probability
(n - 1) / (n + 1) (60 % for n = 4), so the literal test says little per network unless n is
large (the summary prints how many networks that chance predicts); the rank test over several
seeds of both sides is the fairer reading. Nothing is trained here.

    ridership reproduce --seeds 3 && python benchmarks/spread.py     # the recipe's runs kept in seed-runs/
    python benchmarks/spread.py --recipe /tmp/speed --ours /tmp/results  # runs of your own
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from ridership.settings import FIRST_SEED  # the seed `ridership reproduce` starts from; no Keras

SAVED = Path(__file__).resolve().parent / "seed-runs"  # the recipe's runs behind docs/fidelity.md


def load_runs(folder: Path, mae_key: str) -> dict[str, dict[int, float]]:
    """``{name: {seed: mae}}`` from the ``<name>-seed<N>.json`` files in ``folder``."""
    runs: dict[str, dict[int, float]] = {}
    for path in sorted(folder.glob("*-seed*.json")):
        row = json.loads(path.read_text())
        name = row.get("name") or row.get("experiment")
        runs.setdefault(name, {})[int(row["seed"])] = float(row[mae_key])
    return runs


def mann_whitney_p(a: list[float], b: list[float]) -> float | None:
    if len(a) < 2 or len(b) < 2:
        return None
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(a, b, alternative="two-sided", method="exact").pvalue)


def compare(recipe: dict[str, dict[int, float]], ours: dict[str, dict[int, float]]) -> list[dict]:
    """One row per network both sides ran (in the recipe's order of names)."""
    rows = []
    order = chapter_order()
    for name in sorted(recipe, key=lambda n: order.index(n) if n in order else len(order)):
        if name not in ours or FIRST_SEED not in ours[name]:
            continue
        r, o = sorted(recipe[name].values()), sorted(ours[name].values())
        mine = ours[name][FIRST_SEED]
        rows.append({
            "name": name, "recipe": r, "ours": o, "ours_seed42": mine,
            "inside": (r[0] <= mine <= r[-1]) if len(r) > 1 else None,
            "overlap": r[0] <= o[-1] and o[0] <= r[-1],
            "p": mann_whitney_p(r, o),
        })
    return rows


def chapter_order() -> list[str]:
    """The chapter's experiment names, asked of a child (importing ridership loads Keras and its logs)."""
    done = subprocess.run([sys.executable, "-c", "from ridership.engine.tables import ROW_ORDER; print(*ROW_ORDER)"],
                          capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    return done.stdout.split()


def _range(xs: list[float]) -> str:
    return f"{xs[0]:,.0f}  {statistics.median(xs):,.0f}  {xs[-1]:,.0f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default=str(SAVED / "recipe"),
                        help="speed.py's --out folder or its recipe/ folder (default: the runs kept in seed-runs/)")
    parser.add_argument("--ours", default="results",
                        help="a `ridership reproduce --seeds M --out` folder or its runs/ folder (default: results)")
    args = parser.parse_args(argv)
    folders = []
    for given, sub in ((Path(args.recipe), "recipe"), (Path(args.ours), "runs")):
        folder = given / sub if (given / sub).is_dir() else given
        if not folder.is_dir() or not any(folder.glob("*-seed*.json")):
            sys.exit(f"no saved runs (<name>-seed<N>.json) in {folder}: run speed.py --recipe-seeds K "
                     f"or ridership reproduce --seeds M first")
        folders.append(folder)
    recipe = load_runs(folders[0], "mae")
    ours = load_runs(folders[1], "valid_mae")
    rows = compare(recipe, ours)
    if not rows:
        sys.exit("the two folders have no network in common (with our seed 42)")

    print(f"{'network':13} {'recipe: n  min  median  max':>34} {'ours: n  min  median  max':>34} "
          f"{'ours s42':>9} {'inside':>6} {'overlap':>7} {'p':>6}")
    for row in rows:
        inside = "n/a" if row["inside"] is None else ("yes" if row["inside"] else "NO")
        p = "n/a" if row["p"] is None else f"{row['p']:.3f}"
        print(f"{row['name']:13} {len(row['recipe']):>3}  {_range(row['recipe']):>29} "
              f"{len(row['ours']):>3}  {_range(row['ours']):>29} {row['ours_seed42']:9,.0f} {inside:>6} "
              f"{'yes' if row['overlap'] else 'NO':>7} {p:>6}")
    judged = [r for r in rows if r["inside"] is not None]
    expected = sum((len(r["recipe"]) - 1) / (len(r["recipe"]) + 1) for r in judged)
    print(f"our seed 42 inside the recipe's min-max: {sum(r['inside'] for r in judged)} of {len(judged)} "
          f"(outside: {', '.join(r['name'] for r in judged if not r['inside']) or 'none'}); "
          f"expected if both sides drew from one distribution: {expected:.1f}")
    print(f"ranges overlap: {sum(r['overlap'] for r in rows)} of {len(rows)}; "
          f"Mann-Whitney p < 0.05: {', '.join(r['name'] for r in rows if r['p'] is not None and r['p'] < 0.05) or 'none'}")


if __name__ == "__main__":
    main()
