"""The project's one exception type, so callers can catch every input problem at once."""


class RidershipError(ValueError):
    """Bad input to ridership: the message says what is wrong and how to fix it.

    A subclass of ``ValueError`` so that code written against the usual Python
    convention for bad arguments catches it too.
    """
