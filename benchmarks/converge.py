"""Train named models to convergence (the chapter's protocol) on the current backend and report.

    KERAS_BACKEND=jax python benchmarks/converge.py univar,mulvar,lstm

Prints, per model: validation MAE, epochs run, best epoch, seconds, and the time per
epoch after the first (which includes tracing and compiling).
"""

import sys
import time

import keras

import ridership
from ridership.experiments import EXPERIMENTS, make_data
from ridership.training import EpochTimer


def main(names: list[str]) -> None:
    df = ridership.load_ridership()
    print(f"backend: {keras.backend.backend()}")
    print(f"{'model':10} {'valid MAE':>10} {'epochs':>6} {'best':>5} {'seconds':>8} {'ms/epoch':>9}")
    for name in names:
        exp = EXPERIMENTS[name]
        data = make_data(exp.data, df)
        timer = EpochTimer()
        tick = time.perf_counter()
        result = ridership.fit_and_evaluate(ridership.MODELS[name], data["train"], data["valid"], exp.learning_rate,
                                            callbacks=[timer], shuffle=exp.shuffle)
        seconds = time.perf_counter() - tick
        per_epoch = timer.steady_ms
        best = ridership.training.best_epoch(result.history)
        print(f"{name:10} {result.mae:10,.0f} {len(timer.times):6d} {best:5d} {seconds:8.1f} {per_epoch:9.0f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1].split(",") if len(sys.argv) > 1 else ["univar", "mulvar", "lstm"])
