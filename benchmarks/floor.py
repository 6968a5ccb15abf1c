"""How far from this CPU's floor is one epoch of univar, lstm and the WaveNet?

The floating-point work of one epoch is counted by hand from the layer shapes (multiply-adds
of the recurrent, dense and convolutional layers, forward; backpropagation costs about twice
the forward pass, so training a window costs about 3x its forward pass; the validation
windows run forward once). What the CPU can do is measured here, with NumPy's float32 matrix
product (BLAS): on large matrices (the peak: every core given, vector units busy) and on the
shape each model multiplies (the recurrent ones: a batch of 32 rows by 32 units at each time
step, mostly call overhead; the WaveNet: a whole batch of 32 windows of 112 steps, 3,584 rows,
by the 64 inputs of a kernel-2 convolution, into 32 filters). The floor is the work divided by
the peak. Our time per epoch is measured in the same run (NumPy windows, the model as
``ridership reproduce`` builds it (the WaveNet as one ``CausalConvStack``), on the backend Keras
is set to: run it with ``KERAS_BACKEND=jax``), after the first epoch.

``--threads 1`` gives the matrix products and the training one thread, as each run of
``ridership reproduce`` has by default.

    KERAS_BACKEND=jax python benchmarks/floor.py
    KERAS_BACKEND=jax python benchmarks/floor.py --only wavenet --threads 1
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ridership.windows import AHEAD, SEQ_LENGTH

LONG_SEQ_LENGTH = 2 * SEQ_LENGTH  # the WaveNets' windows (the chapter's "longer" ones)

UNITS, BATCH = 32, 32


def rnn_step_flops(inputs: int, units: int, gates: int) -> int:
    """One time step of one sample: ``gates`` x (x @ W + h @ U), plus bias and activations."""
    return gates * 2 * units * (inputs + units) + gates * 3 * units


def dense_flops(inputs: int, outputs: int) -> int:
    return 2 * inputs * outputs + outputs


def wavenet_step_flops(inputs: int = 5, filters: int = UNITS, layers: int = 8, kernel: int = 2) -> int:
    """One time step of one window: kernel-2 causal convolutions (a dense layer over the two
    taps), then the 1x1 convolution to the 14 outputs."""
    first = dense_flops(kernel * inputs, filters)
    return first + (layers - 1) * dense_flops(kernel * filters, filters) + dense_flops(filters, AHEAD)


#: Per model: forward FLOPs of one window, training windows, validation windows (chapter
#: periods), and the (rows, inner, columns) of the matrix product it repeats.
def models() -> dict:
    n_train, n_valid = 1096, 151  # days in the train and validation periods
    univar = SEQ_LENGTH * rnn_step_flops(1, UNITS, 1) + dense_flops(UNITS, 1)
    lstm = SEQ_LENGTH * (rnn_step_flops(5, UNITS, 4) + dense_flops(UNITS, AHEAD))
    wavenet = LONG_SEQ_LENGTH * wavenet_step_flops()
    step = (BATCH, UNITS, UNITS)
    return {
        "univar": (univar, n_train - SEQ_LENGTH, n_valid - SEQ_LENGTH, step),
        "lstm": (lstm, n_train - SEQ_LENGTH - AHEAD + 1, n_valid - SEQ_LENGTH - AHEAD + 1, step),
        "wavenet": (wavenet, n_train - LONG_SEQ_LENGTH - AHEAD + 1, n_valid - LONG_SEQ_LENGTH - AHEAD + 1,
                    (BATCH * LONG_SEQ_LENGTH, 2 * UNITS, UNITS)),
    }


def gflops(rows: int, inner: int, columns: int, seconds_budget: float = 1.0) -> float:
    """float32 GFLOP/s of ``a @ b``, a of shape (rows, inner) and b of (inner, columns)."""
    a, b = np.random.rand(rows, inner).astype(np.float32), np.random.rand(inner, columns).astype(np.float32)
    a @ b
    count, tick = 0, time.perf_counter()
    while time.perf_counter() - tick < seconds_budget:
        a @ b
        count += 1
    return 2 * rows * inner * columns * count / (time.perf_counter() - tick) / 1e9


def epoch_ms(name: str, epochs: int) -> float:
    import ridership
    from ridership.experiments import EXPERIMENTS, make_data
    from ridership.reproduce import STEPS_PER_EXECUTION, model_builder
    from ridership.training import EpochTimer

    exp = EXPERIMENTS[name]
    data = make_data(exp.data, ridership.load_ridership())
    timer = EpochTimer()
    ridership.fit_and_evaluate(model_builder(name), data["train"], data["valid"], exp.learning_rate,
                               epochs=epochs, patience=None, callbacks=[timer], shuffle=exp.shuffle,
                               steps_per_execution=STEPS_PER_EXECUTION)  # as `reproduce` trains it
    return timer.steady_ms


def main(argv=None) -> None:
    table = models()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8, help="epochs to time per model (the first is dropped)")
    parser.add_argument("--only", default=",".join(table), help="comma-separated models (default: all)")
    parser.add_argument("--threads", type=int, default=None,
                        help="compute threads for the products and the training (default: every core)")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(names) - set(table))
    if unknown or not names:
        parser.error(f"unknown model(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(table)}")

    from threadpoolctl import threadpool_limits

    from ridership.parallel import limit_threads

    if args.threads:
        limit_threads(args.threads)  # before Keras's backend computes anything
        threadpool_limits(args.threads)  # NumPy's BLAS, already loaded
    import keras

    peak = gflops(2048, 2048, 2048)
    print(f"float32 matrix product: {peak:.1f} GFLOP/s on 2048x2048 (the peak), "
          f"threads: {args.threads or 'every core'}, backend: {keras.backend.backend()}")
    print(f"{'model':8} {'MFLOP/epoch':>12} {'floor ms':>9} {'shape':>15} {'shape GFLOP/s':>14} "
          f"{'shape ms':>9} {'ours ms':>8} {'x floor':>8}")
    for name in names:
        forward, n_train, n_valid, shape = table[name]
        flop = 3 * forward * n_train + forward * n_valid
        rate = gflops(*shape)
        floor, shape_ms = 1000 * flop / (peak * 1e9), 1000 * flop / (rate * 1e9)
        ours = epoch_ms(name, args.epochs)
        label = "x".join(map(str, shape))
        print(f"{name:8} {flop / 1e6:12.0f} {floor:9.2f} {label:>15} {rate:14.2f} {shape_ms:9.1f} {ours:8.1f} "
              f"{ours / floor:8.1f}")


if __name__ == "__main__":
    main()
