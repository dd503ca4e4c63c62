"""Writing outputs whole or not at all, and naming any path in one printable line.

Every file the package writes for a user (run results, evaluation tables, windows
tables) goes through :func:`write_atomic`: it is written under a temporary name in the
same folder, flushed to disk, and renamed over the target, so an interruption (Ctrl-C,
a kill, a full disk) leaves either the previous complete file or the new complete one,
never a truncated mix. A write that fails becomes one :class:`FserError` line naming
the path and the reason (read-only folder, no space left, name too long), and the
temporary file is removed.

The other helpers serve code that reads files named by users: :func:`check_regular_file`
refuses FIFOs, devices and sockets before anything opens them (opening a FIFO blocks
until someone writes to it), and :func:`escape_path` / :func:`unescape_path` print
names that are not valid UTF-8 as ASCII-safe text that converts back to the exact name.
"""
from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from fser_utils.errors import FserError

__all__ = [
    "describe_os_error",
    "write_atomic",
    "write_text_atomic",
    "write_bytes_atomic",
    "write_csv_atomic",
    "check_regular_file",
    "describe_special_file",
    "escape_path",
    "unescape_path",
]


def describe_os_error(exc: OSError, path, action: str = "write") -> str:
    """One line: ``cannot write 'PATH': No space left on device``."""
    reason = exc.strerror or type(exc).__name__
    if exc.errno == errno.ENAMETOOLONG:
        reason = "file name or path too long"
    return f"cannot {action} '{escape_path(path)}': {reason}"


def _temporary_name(path: Path) -> Path:
    # a prefix, not a suffix: Keras and matplotlib choose the format by the name's end;
    # the process id keeps two writers of the same file from sharing a temporary file
    name = f".tmp-{os.getpid()}-{path.name}"
    if len(os.fsencode(name)) > 255:  # the target's name is near the limit already
        name = f".tmp-{os.getpid()}-{path.name[-(200 - len(str(os.getpid()))):]}"
    return path.with_name(name)


def _fsync(path: Path) -> None:
    # the data must be on disk before the rename makes it the file, or a crash of the
    # machine could leave the new name pointing at empty blocks
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path, write) -> Path:
    """``write(tmp)`` to a temporary file beside ``path``, then rename it over ``path``.

    Parameters
    ----------
    path : path-like
        The file to write; its folder must exist.
    write : callable
        Called with the temporary path (a :class:`~pathlib.Path` with ``path``'s
        suffix); it must create that file.

    Returns
    -------
    path : Path

    Raises
    ------
    FserError
        The folder is read-only or missing, the disk is full, the name is too long:
        one line naming ``path``. Nothing is left behind: ``path`` keeps its previous
        content (or stays absent) and the temporary file is removed.
    """
    path = Path(path)
    tmp = _temporary_name(path)
    try:
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise FserError(describe_os_error(exc, path)) from None
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # a read-only folder: the temporary file was never made
            pass
    return path


def write_text_atomic(path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` atomically (see :func:`write_atomic`)."""
    data = text.encode(encoding)
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))


def write_bytes_atomic(path, data: bytes) -> Path:
    """Write ``data`` atomically (see :func:`write_atomic`)."""
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))


def write_csv_atomic(path, table, **to_csv) -> Path:
    """Write a DataFrame as CSV atomically; ``to_csv`` goes to :meth:`DataFrame.to_csv`.

    The whole table is rendered in memory first, so a table that cannot be rendered
    (or encoded) leaves the previous file as it was.
    """
    to_csv.setdefault("index", False)
    text = table.to_csv(None, **to_csv)
    return write_text_atomic(path, text)


_SPECIAL = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
            (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def describe_special_file(path) -> str | None:
    """What ``path`` is if it is not a regular file or folder (``"a FIFO (named pipe)"``,
    ``"a socket"``, a device), else None. Never opens it, so a FIFO cannot block."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return next((what for test, what in _SPECIAL if test(mode)), None)


def check_regular_file(path, *, action: str = "read") -> Path:
    """``path`` if it names a regular file (links followed); else one :class:`FserError` line.

    Checked with ``stat``, before any ``open``: opening a FIFO for reading blocks until a
    writer comes, which is how ``fser data table`` hung on one named like a corpus file.

    Raises
    ------
    FserError
        Missing file, a FIFO, socket or device, a folder, a name or path too long, no
        permission: the message names the path (escaped, see :func:`escape_path`).
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise FserError(describe_os_error(exc, path, action)) from None
    if stat.S_ISREG(mode):
        return path
    what = describe_special_file(path) or ("a folder" if stat.S_ISDIR(mode) else "not a file")
    raise FserError(f"cannot {action} '{escape_path(path)}': it is {what}, not a regular file")


_ESCAPED = re.compile(r"\\(\\|x[0-9a-f]{2})")


def escape_path(path) -> str:
    """A path as printable text, exact and reversible by :func:`unescape_path`.

    Bytes of the name that are not valid UTF-8 (a Latin-1 ``café.wav`` read from disk,
    which Python holds as a lone surrogate) become ``\\xNN``, control characters such as
    a newline become ``\\xNN`` too, and a backslash becomes ``\\\\``, so the text can
    be printed on any terminal, written to UTF-8 CSV and JSON, and turned back into the
    same file name. A name that is valid UTF-8 without backslashes or control characters
    is returned unchanged.
    """
    raw = os.fsencode(os.fspath(path))
    text = raw.decode("utf-8", "surrogateescape")
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    return "".join(out)


def unescape_path(text: str) -> str:
    """The file name :func:`escape_path` printed as ``text`` (a ``str`` for ``open``)."""
    def byte(m):
        token = m.group(1)
        return "\\" if token == "\\" else chr(0xDC00 + int(token[1:], 16)) \
            if int(token[1:], 16) >= 0x80 else chr(int(token[1:], 16))

    return os.fsdecode(os.fsencode(_ESCAPED.sub(byte, text)))
