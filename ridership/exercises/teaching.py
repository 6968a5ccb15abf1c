"""What the notebooks show: the package's own code without its docstrings, and tables in riders.

The notebooks show each model as the Keras code that builds it, taken from the package
rather than copied into the notebook, so the code shown is the code that runs
(:func:`show_code`); tables of MAEs print with thousands separators (:func:`riders_table`).

Example:

>>> from ridership import models
>>> print(show_code(models.simple_rnn))
def simple_rnn() -> keras.Model:
    return keras.Sequential([
        keras.Input(shape=(None, 1)),
        layers.SimpleRNN(1, name="rnn"),
    ], name="simple_rnn")
"""

from __future__ import annotations

import ast
import inspect
import textwrap

from ..errors import RidershipError

#: Columns :func:`riders_table` prints as ratios (two decimals) rather than in riders.
RATIO_COLUMNS = ("ratio", "ours / book")


class Code:
    """Python source that a notebook shows highlighted (Markdown) and a terminal prints as text."""

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return f"```python\n{self.text}\n```"


def source_without_docstrings(obj) -> str:
    """The source of a function or class with every docstring in it removed (its own and its methods')."""
    try:
        source = textwrap.dedent(inspect.getsource(obj))
    except (TypeError, OSError):
        raise RidershipError(f"No source to show for {obj!r}: pass a function or class defined in a file.") from None
    lines = source.splitlines()
    drop = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                drop.update(range(first.lineno - 1, first.end_lineno))
                if first.end_lineno < len(lines) and not lines[first.end_lineno].strip():
                    drop.add(first.end_lineno)  # and the blank line that set it apart
    kept = [line for i, line in enumerate(lines) if i not in drop]
    return "\n".join(kept).rstrip() + "\n"


def show_code(obj) -> Code:
    """``obj``'s source without its docstrings, displayed as highlighted code in a notebook.

    Args:
        obj: a function or class of the package, e.g. ``ridership.models.univar``.

    Example:

    >>> code = show_code(ridership.models.seq2seq)   # the last value of a cell shows it, highlighted
    >>> str(code).splitlines()[0]
    'def seq2seq(units: int = 32, n_ahead: int = AHEAD) -> keras.Model:'
    """
    return Code(source_without_docstrings(obj).rstrip("\n"))


def riders_table(frame, decimals: dict | None = None):
    """``frame`` (a DataFrame) styled for a notebook: numbers with thousands separators, no decimals.

    Ratio columns (``RATIO_COLUMNS``) get two decimals, any column named in ``decimals``
    (e.g. ``{"mape": 1}``) that many; missing values show as blanks; text columns are left alone;
    a date index shows days.

    Example:

    >>> styled = riders_table(ridership.versus_book({"univar": 28_465.2}))  # a notebook shows it as HTML
    >>> print(styled.to_string().strip())
    ours book ours / book
    experiment
    univar 28,465 27,703 1.03
    """
    decimals = {**{name: 2 for name in RATIO_COLUMNS}, **(decimals or {})}
    numeric = frame.select_dtypes("number").columns
    formats = {col: f"{{:,.{decimals.get(col, 0)}f}}" for col in numeric}
    styled = frame.style.format(formats, na_rep="")
    if frame.index.dtype.kind == "M":  # dates: the day, without a time of day
        styled = styled.format_index(lambda day: f"{day:%Y-%m-%d}")
    return styled
