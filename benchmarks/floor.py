"""How far from this CPU's floor is one epoch of univar and of lstm?

The floating-point work of one epoch is counted by hand from the layer shapes (multiply-adds
of the recurrent and dense layers, forward; backpropagation costs about twice the forward
pass, so training a window costs about 3x its forward pass; the validation windows run
forward once). What the CPU can do is measured here, with NumPy's float32 matrix product
(BLAS): on large matrices (the peak: every core, vector units busy) and on the shape these
models multiply at each time step (a batch of 32 rows by 32 units: mostly call overhead).
The floor is the work divided by the peak. Our time per epoch is measured in the same run
(NumPy windows, on the backend Keras is set to: run it with ``KERAS_BACKEND=jax``), after the first epoch.

    KERAS_BACKEND=jax python benchmarks/floor.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ridership.windows import AHEAD, SEQ_LENGTH

UNITS, BATCH = 32, 32


def rnn_step_flops(inputs: int, units: int, gates: int) -> int:
    """One time step of one sample: ``gates`` x (x @ W + h @ U), plus bias and activations."""
    return gates * 2 * units * (inputs + units) + gates * 3 * units


def dense_flops(inputs: int, outputs: int) -> int:
    return 2 * inputs * outputs + outputs


#: Per model: forward FLOPs of one window, training windows, validation windows (chapter periods).
def models() -> dict:
    n_train, n_valid = 1096, 151  # days in the train and validation periods
    univar = SEQ_LENGTH * rnn_step_flops(1, UNITS, 1) + dense_flops(UNITS, 1)
    lstm = SEQ_LENGTH * (rnn_step_flops(5, UNITS, 4) + dense_flops(UNITS, AHEAD))
    return {
        "univar": (univar, n_train - SEQ_LENGTH, n_valid - SEQ_LENGTH),
        "lstm": (lstm, n_train - SEQ_LENGTH - AHEAD + 1, n_valid - SEQ_LENGTH - AHEAD + 1),
    }


def gflops(n: int, seconds_budget: float = 1.0) -> float:
    """float32 GFLOP/s of ``a @ b`` for n x n matrices (or BATCH x n by n x n when n is small)."""
    rows = BATCH if n <= 64 else n
    a, b = np.random.rand(rows, n).astype(np.float32), np.random.rand(n, n).astype(np.float32)
    a @ b
    count, tick = 0, time.perf_counter()
    while time.perf_counter() - tick < seconds_budget:
        a @ b
        count += 1
    return 2 * rows * n * n * count / (time.perf_counter() - tick) / 1e9


def epoch_ms(name: str, epochs: int) -> float:
    import ridership
    from ridership.experiments import EXPERIMENTS, make_data
    from ridership.training import EpochTimer

    exp = EXPERIMENTS[name]
    data = make_data(exp.data, ridership.load_ridership())
    timer = EpochTimer()
    ridership.fit_and_evaluate(ridership.MODELS[name], data["train"], data["valid"], exp.learning_rate,
                               epochs=epochs, patience=None, callbacks=[timer], shuffle=exp.shuffle)
    return timer.steady_ms


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8, help="epochs to time per model (the first is dropped)")
    args = parser.parse_args(argv)

    import keras

    peak, small = gflops(2048), gflops(UNITS)
    print(f"float32 matrix product: {peak:.1f} GFLOP/s on 2048x2048 (the peak), "
          f"{small:.2f} GFLOP/s on {BATCH}x{UNITS} @ {UNITS}x{UNITS} (one time step's shape)")
    print(f"backend: {keras.backend.backend()}")
    print(f"{'model':8} {'MFLOP/epoch':>12} {'floor ms':>9} {'small-matmul ms':>16} {'ours ms':>8} {'x floor':>8}")
    for name, (forward, n_train, n_valid) in models().items():
        flop = 3 * forward * n_train + forward * n_valid
        floor, small_ms = 1000 * flop / (peak * 1e9), 1000 * flop / (small * 1e9)
        ours = epoch_ms(name, args.epochs)
        print(f"{name:8} {flop / 1e6:12.0f} {floor:9.2f} {small_ms:16.1f} {ours:8.1f} {ours / floor:8.0f}")


if __name__ == "__main__":
    main()
