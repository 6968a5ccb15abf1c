"""Models saved by an earlier release still load: small ``.keras`` files kept in ``tests/fixtures``.

They were saved by release 0.2.0 (before the custom layers stopped registering through an import
hook), with the outputs they gave then: ``custom_ln`` holds ``LNSimpleRNNCell`` (``ridership.layers``),
``fast_bach`` holds ``ProjectedLSTM`` (``ridership.chorales.layers``).
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
X = np.load(FIXTURES / "custom_ln_0.2.0_input.npy")
TOKENS = np.array([[0, 1, 2, 3, 4, 5, 1, 2]], dtype="int32")


@pytest.mark.parametrize("name, inputs", [("custom_ln", X), ("fast_bach", TOKENS)])
def test_a_model_saved_by_release_0_2_0_loads_and_gives_its_outputs(name, inputs):
    import ridership

    model = ridership.load_model(FIXTURES / f"{name}_0.2.0.keras")
    expected = np.load(FIXTURES / f"{name}_0.2.0_output.npy")
    np.testing.assert_allclose(np.asarray(model(inputs, training=False)), expected, rtol=1e-5, atol=1e-6)


def test_it_loads_in_a_fresh_process_that_imported_only_the_package():
    code = (f"import ridership; m = ridership.load_model({str(FIXTURES / 'fast_bach_0.2.0.keras')!r}); "
            "print(type(m.get_layer('projected_lstm')).__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "ProjectedLSTM"
