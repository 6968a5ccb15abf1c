"""show_code: a builder's source as the notebooks show it, docstrings removed, still valid Python."""

import ast

import pytest

from ridership.errors import RidershipError
from ridership.exercises.teaching import show_code


def test_a_builder_is_shown_without_its_docstring():
    from ridership import models

    code = show_code(models.conv_rnn)
    text = str(code)
    assert text.startswith("def conv_rnn(") and "keras.Sequential" in text and 'name="conv_rnn"' in text
    assert '"""' not in text and "Output step" not in text
    ast.parse(text)
    assert code._repr_markdown_() == f"```python\n{text}\n```"


def test_a_class_loses_its_methods_docstrings_too():
    from ridership.layers import CausalConvStack

    text = str(show_code(CausalConvStack))
    assert '"""' not in text and "def call(self, inputs):" in text
    ast.parse(text)


def test_something_without_source_is_one_clear_error():
    with pytest.raises(RidershipError, match="No source"):
        show_code(len)


def test_riders_table_prints_thousands_separators_and_ratios():
    import pandas as pd

    from ridership.exercises.teaching import riders_table

    frame = pd.DataFrame({"valid_mae": [97148.29176664352, None], "ratio": [1.02345, None], "mape": [8.2938, 9.0],
                          "kind": ["seq2seq", "naive"]}, index=pd.to_datetime(["2019-05-27", "2019-05-28"]))
    html = riders_table(frame, decimals={"mape": 1}).to_html()
    assert "97,148" in html and "97148" not in html
    assert "1.02" in html and "8.3" in html and "seq2seq" in html
    assert "2019-05-27" in html and "00:00:00" not in html
