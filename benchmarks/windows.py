"""Benchmark: the seq2seq windows, tf.data window/flat_map (the chapter) against NumPy views (ours).

For the train, validation and test periods of the multivariate frame, both sides build
every (X, Y) window pair of the chapter's sequence-to-sequence dataset (56 steps, 14
ahead, rail target): the chapter's path builds the tf.data pipeline and runs it to the
end (a tf.data pipeline is lazy: training pays this again every epoch), ours calls
``seq2seq_arrays`` (strided views, copied once). Each side runs ``--repeat`` times,
alternating; the table gives the median seconds, and the arrays are checked identical.
The last line is ``speedup: <ratio>x`` over the three periods together.

    python benchmarks/windows.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import ridership
from ridership.data import multivariate_frame, period
from ridership.windows import dataset_arrays, seq2seq_arrays, to_seq2seq_dataset


def chapter(frame) -> tuple[np.ndarray, np.ndarray]:
    return dataset_arrays(to_seq2seq_dataset(frame))


def ours(frame) -> tuple[np.ndarray, np.ndarray]:
    return seq2seq_arrays(frame)


def timed(fn, frame) -> tuple[float, tuple]:
    tick = time.perf_counter()
    arrays = fn(frame)
    return time.perf_counter() - tick, arrays


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per side (median reported)")
    parser.add_argument("--data", help="path to ridership.tgz (default: RIDERSHIP_DATA, cache or download)")
    args = parser.parse_args(argv)

    frame = multivariate_frame(ridership.load_ridership(args.data))
    chapter(period(frame, "valid"))  # load TensorFlow and warm tf.data up before timing
    print(f"{'period':8} {'windows':>8} {'tf.data s':>10} {'NumPy s':>9} {'ratio':>8}  identical")
    totals = [0.0, 0.0]
    for name in ("train", "valid", "test"):
        data = period(frame, name)
        runs = {"chapter": [], "ours": []}
        for _ in range(args.repeat):
            for side, fn in (("chapter", chapter), ("ours", ours)):
                seconds, arrays = timed(fn, data)
                runs[side].append(seconds)
                if side == "chapter":
                    expected = arrays
                else:
                    same = all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(expected, arrays))
                    if not same:
                        raise SystemExit(f"{name}: the two sides built different windows")
        slow, fast = statistics.median(runs["chapter"]), statistics.median(runs["ours"])
        totals[0] += slow
        totals[1] += fast
        print(f"{name:8} {len(expected[0]):8,d} {slow:10.4f} {fast:9.5f} {slow / fast:8.0f}  yes "
              f"(X {expected[0].shape}, Y {expected[1].shape})")
    print(f"speedup: {totals[0] / totals[1]:.0f}x")


if __name__ == "__main__":
    main()
