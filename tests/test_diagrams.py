"""The receptive-field diagrams: the fields computed are the chapter's, real layers see exactly them, and they draw."""

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

from ridership.exercises import diagrams as D
from ridership.errors import RidershipError


def test_the_wavenet_sees_31_days():
    assert D.receptive_field() == D.receptive_field((1, 2, 4, 8) * 2, kernel_size=2) == 31
    assert D.receptive_field((1, 2, 4, 8)) == 16
    assert D.causal_inputs(111) == list(range(81, 112))  # the last step of a 112-day window
    assert D.causal_inputs(5) == list(range(6))  # early steps see the whole window so far, nothing before it


def test_the_strided_convolution_sees_four_steps_two_apart():
    assert D.strided_inputs(8) == [range(0, 4), range(2, 6), range(4, 8)]
    assert D.strided_outputs(112) == 55 and D.strided_outputs(3) == 0
    assert D.strided_target_steps(112) == list(range(112))[3::2]  # why the targets are Y[:, 3::2]


def test_the_fields_are_those_of_the_real_layers():
    from ridership import models
    from ridership.windows import downsample_targets

    wavenet = models.wavenet()
    for step in (5, 40, 111):
        assert D.influence(wavenet, 112, 5, step=step) == D.causal_inputs(step)
    conv = models.conv_rnn().get_layer("conv")
    fields = D.strided_inputs(112)
    assert np.asarray(conv(np.zeros((1, 112, 5)))).shape[1] == len(fields)
    for j in (0, 1, 54):
        assert D.influence(conv, 112, 5, step=j) == list(fields[j])
    assert downsample_targets(np.zeros((1, 112, 14))).shape[1] == len(fields)


@pytest.mark.parametrize("draw", [lambda: D.strided_conv_diagram(), lambda: D.strided_conv_diagram(30, highlight=(2,)),
                                  lambda: D.wavenet_diagram(), lambda: D.wavenet_diagram((1, 2, 4, 8), 16, step=9)])
def test_diagrams_draw(draw):
    fig = draw()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.lines and ax.patches and ax.get_title()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"


def test_the_wavenet_diagram_follows_the_output_it_names():
    title = D.wavenet_diagram((1, 2, 4, 8), 16, step=9).axes[0].get_title()
    assert "output step 9 sees input steps 0 to 9 (10 of at most 16)" in title


@pytest.mark.parametrize("call, message", [
    (lambda: D.receptive_field(()), "dilations is empty"),
    (lambda: D.receptive_field((1, 0)), "each dilation rate"),
    (lambda: D.strided_inputs(0), "n_inputs"),
    (lambda: D.strided_conv_diagram(3), "fewer than one kernel"),
    (lambda: D.wavenet_diagram(n_steps=8, step=8), "outside"),
    (lambda: D.influence(lambda X: X[:, -1], 8, 1), "one output per time step"),
])
def test_bad_arguments_are_one_clear_error(call, message):
    with pytest.raises(RidershipError, match=message):
        call()
