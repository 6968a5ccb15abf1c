"""Models saved by an earlier release still load: small ``.keras`` files kept in ``tests/fixtures``.

They were saved by release 0.2.0 (before the custom layers stopped registering through an import
hook), with the outputs they gave then: ``custom_ln`` holds ``LNSimpleRNNCell`` (``ridership.layers``),
``fast_bach`` holds ``ProjectedLSTM`` (``ridership.chorales.layers``).
"""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
X = np.load(FIXTURES / "custom_ln_0.2.0_input.npy")
TOKENS = np.array([[0, 1, 2, 3, 4, 5, 1, 2]], dtype="int32")


def _version(text: str) -> tuple:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


def _skip_if_saved_by_a_newer_keras(name: str) -> None:
    """Keras reads files saved by its own or older versions only: a newer Keras writes settings an
    older one does not know (Keras 3.13 rejects the initializers' ``input_axes`` of a 3.15 file).
    Colab's stack has an older Keras than the pinned one that saved the fixtures; there the check
    is left to the pinned stack."""
    import keras

    with zipfile.ZipFile(FIXTURES / f"{name}_0.2.0.keras") as archive:
        saved_by = json.loads(archive.read("metadata.json"))["keras_version"]
    if _version(keras.__version__) < _version(saved_by):
        pytest.skip(f"saved by Keras {saved_by}, which Keras {keras.__version__} cannot read")


@pytest.mark.parametrize("name, inputs", [("custom_ln", X), ("fast_bach", TOKENS)])
def test_a_model_saved_by_release_0_2_0_loads_and_gives_its_outputs(name, inputs):
    import ridership

    _skip_if_saved_by_a_newer_keras(name)
    model = ridership.load_model(FIXTURES / f"{name}_0.2.0.keras")
    expected = np.load(FIXTURES / f"{name}_0.2.0_output.npy")
    np.testing.assert_allclose(np.asarray(model(inputs, training=False)), expected, rtol=1e-5, atol=1e-6)


def test_it_loads_in_a_fresh_process_that_imported_only_the_package():
    _skip_if_saved_by_a_newer_keras("fast_bach")
    code = (f"import ridership; m = ridership.load_model({str(FIXTURES / 'fast_bach_0.2.0.keras')!r}); "
            "print(type(m.get_layer('projected_lstm')).__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "ProjectedLSTM"
