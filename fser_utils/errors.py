"""The one exception type the command line turns into a one-line message."""

__all__ = ["FserError"]


class FserError(Exception):
    """A problem with the user's input or data, reported without a traceback."""
