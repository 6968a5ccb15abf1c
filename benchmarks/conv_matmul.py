"""Benchmark: the WaveNet with Keras's Conv1D against its causal convolutions as matrix products.

A kernel-2 causal convolution with dilation d is ``x[t - d] @ W0 + x[t] @ W1``. Two forms:

- ``--form fused`` (default): the package's ``CausalConvStack`` (``wavenet(fused=True)``, what
  ``ridership reproduce`` trains): the whole stack channels first, so each convolution and
  each of its gradients is one plain matrix product over every step of the batch;
- ``--form products``: a probe kept for the record: each ``Conv1D`` layer on its own as two
  matrix products over the batch flattened to one long matrix, the first shifted d steps
  (``ShiftedMatmulConv1D``; any other Conv1D falls back to Keras's).

Each round trains the chapter's model both ways from the same initial weights (a builder
seeded as ``fit_and_evaluate`` seeds it, then the same weights copied into the matrix-product
twin), on the chapter's windows in the chapter's order, for ``--epochs`` epochs after one of
compiling; the two alternate. It prints each round, how far the two models' outputs differ
before training, both validation MAEs after, the medians, and as its last line
``speedup: <ratio>x`` (Conv1D's median time per epoch over the matrix products').

    python benchmarks/conv_matmul.py [--form fused|products] [--model wavenet] [--epochs 10] [--rounds 3] [--threads 1]

Runs on JAX unless ``KERAS_BACKEND`` says otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics

os.environ.setdefault("KERAS_BACKEND", "jax")  # before the package imports Keras

from ridership import parallel  # noqa: E402

CAUSAL_MODELS = ("wavenet", "full_wavenet")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="wavenet", choices=CAUSAL_MODELS)
    parser.add_argument("--epochs", type=int, default=10, help="timed epochs per run, after one of compiling")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="compute threads (default: every core)")
    parser.add_argument("--form", choices=("fused", "products"), default="fused",
                        help="fused: the package's CausalConvStack; products: each Conv1D as two matrix products")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.rounds < 1:
        parser.error("--epochs and --rounds must be at least 1")
    if args.form == "fused" and args.model != "wavenet":
        parser.error("--form fused is the WaveNet's (CausalConvStack); use --form products for full_wavenet")

    parallel.worker_setup(args.threads)  # as `ridership reproduce` sets up a run; before the backend starts
    import keras
    import numpy as np

    import ridership
    from ridership.experiments import EXPERIMENTS, make_data
    from ridership.training import EpochTimer

    layer_class = _matmul_layer()
    exp = EXPERIMENTS[args.model]
    data = make_data(exp.data, ridership.load_ridership())
    probe = data["valid"][0]

    def conv():
        return ridership.MODELS[args.model]()

    def matmul():
        if args.form == "fused":
            return ridership.models.wavenet(fused=True)  # built from the Conv1D model's initial weights
        return _as_matmul(conv(), layer_class)

    times, maes, outputs = {"Conv1D": [], "matmul": []}, {}, {}
    print(f"{args.model}, backend {keras.backend.backend()}, threads: {args.threads or 'every core'}, form: {args.form}, "
          f"{args.epochs} epochs timed per run after 1 of compiling, {args.rounds} round(s)")
    for round_ in range(1, args.rounds + 1):
        for name, builder in (("Conv1D", conv), ("matmul", matmul)):
            built = {}

            def keep(builder=builder, built=built):
                built["model"] = builder()
                built["before"] = np.asarray(built["model"].predict(probe, verbose=0))
                return built["model"]

            timer = EpochTimer()
            result = ridership.fit_and_evaluate(keep, data["train"], data["valid"], exp.learning_rate,
                                                epochs=args.epochs + 1, patience=None, callbacks=[timer],
                                                shuffle=exp.shuffle)
            times[name].append(timer.steady_ms)
            maes[name], outputs[name] = result.mae, built["before"]
            keras.backend.clear_session()
            parallel.release_memory()
        print(f"round {round_}: Conv1D {times['Conv1D'][-1]:.1f} ms/epoch, matmul {times['matmul'][-1]:.1f} ms/epoch")
    gap = float(np.max(np.abs(outputs["Conv1D"] - outputs["matmul"])))
    print(f"outputs before training (validation windows): max |difference| {gap:.2e} "
          f"(largest output {float(np.max(np.abs(outputs['Conv1D']))):.3f})")
    print(f"validation MAE after training: Conv1D {maes['Conv1D']:,.0f}, matmul {maes['matmul']:,.0f}")
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"median ms/epoch: Conv1D {medians['Conv1D']:.1f}, matmul {medians['matmul']:.1f}")
    print(f"speedup: {medians['Conv1D'] / medians['matmul']:.2f}x")


def _matmul_layer():
    import keras
    from keras import ops

    class ShiftedMatmulConv1D(keras.layers.Conv1D):
        """Conv1D computing kernel-2 causal convolutions as two matrix products, one shifted."""

        def call(self, inputs):
            (taps,), (rate,), (stride,) = self.kernel_size, self.dilation_rate, self.strides
            if taps != 2 or self.padding != "causal" or stride != 1:
                return super().call(inputs)
            batch, steps, channels = ops.shape(inputs)
            flat = ops.reshape(inputs, (-1, channels))
            earlier = ops.reshape(ops.matmul(flat, self.kernel[0]), (batch, steps, self.filters))
            earlier = ops.pad(earlier[:, : steps - rate], [(0, 0), (rate, 0), (0, 0)])
            outputs = earlier + ops.reshape(ops.matmul(flat, self.kernel[1]), (batch, steps, self.filters))
            if self.use_bias:
                outputs = outputs + self.bias
            return outputs if self.activation is None else self.activation(outputs)

    return ShiftedMatmulConv1D


def _as_matmul(model, layer_class):
    """The same model, its Conv1D layers swapped for ``layer_class``, with the same weights."""
    import keras

    def swap(layer):
        if type(layer) is keras.layers.Conv1D:
            return layer_class.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    twin = keras.models.clone_model(model, clone_function=swap)
    twin.set_weights(model.get_weights())
    return twin


if __name__ == "__main__":
    main()
