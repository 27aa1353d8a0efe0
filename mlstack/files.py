"""The one place where commands open the files a user names: inputs read, outputs written.

Reading (:func:`read_text`): every way a path can fail — missing, a directory, permission
denied, a path too long, a loop of links — becomes a :class:`UsageError` naming the file and
the reason; a file is read up to a size cap (so ``/dev/zero`` or a 2 GB file costs nothing);
text is decoded as the Pulumi CLI decodes a stack file (UTF-8, or UTF-8 / UTF-16 with a byte
order mark) and binary files are refused::

    text = read_text(path, what="the stack file", limit=MAX_DOCUMENT_BYTES)

Writing (:func:`open_output`): the target of ``--json``/``-o``/``--output`` is checked before
the command's long work (its directory exists and is writable, it is not a directory, it is
not one of the command's inputs: same resolved path, or same device and inode, which covers
symbolic and hard links), and written through a temporary file in the same directory that is
renamed into place only once complete, so a failure never leaves a half-written file::

    output = open_output(args.json, option="--json", inputs=[(stack_path, "the stack file")])
    plan = ...                       # the long work
    output.write(json.dumps(plan))   # checked again against every file read meanwhile
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Union

from .errors import UsageError

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "Output",
    "open_output",
    "read_text",
    "stat_input",
    "forget_inputs",
    "inputs_read",
]

MAX_DOCUMENT_BYTES = 1 << 20
"""The largest stack file, Pulumi.yaml or policy config mlstack reads (1 MiB); real ones are
a few kilobytes."""

PathLike = Union[str, "os.PathLike[str]"]
Input = tuple[PathLike, str]
"""An input of a command: its path and what it is (``"the stack file"``)."""

_REASONS = {
    errno.ENOENT: "it does not exist",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.ENAMETOOLONG: "the path is too long for the file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ELOOP: "too many levels of symbolic links",
    errno.EISDIR: "it is a directory, not a file",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "no space left on the device",
}

# Files read by this command so far: (st_dev, st_ino) -> (path, what). Outputs are checked
# against them when written; the CLI forgets them when a command starts.
_READ: dict[tuple[int, int], tuple[str, str]] = {}


def _reason(exc: OSError) -> str:
    return _REASONS.get(exc.errno or 0) or exc.strerror or str(exc)


def _quote(path: PathLike) -> str:
    return repr(os.fspath(path))


def stat_input(path: PathLike, *, what: str, regular: bool = True) -> os.stat_result | None:
    """The status of an input file, following links; None when it does not exist.

    Raises :class:`UsageError` for a directory, for anything but a regular file when
    ``regular`` (a device or pipe where a stack file is expected), and for every other
    failure (permission denied, path too long, link loop).
    """
    try:
        status = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {_quote(path)}: {_reason(exc)}") from None
    except ValueError:  # an embedded NUL byte
        raise UsageError(f"cannot read {what} {_quote(path)}: the path holds a NUL character") from None
    if stat.S_ISDIR(status.st_mode):
        raise UsageError(f"cannot read {what} {_quote(path)}: it is a directory, not a file")
    if regular and not stat.S_ISREG(status.st_mode):
        raise UsageError(f"cannot read {what} {_quote(path)}: it is not a regular file")
    return status


def read_text(path: PathLike, *, what: str, limit: int = MAX_DOCUMENT_BYTES) -> str:
    """The text of an input file, at most ``limit`` bytes, recorded as read.

    Decoding follows the Pulumi CLI (``readFileStripUTF8BOM`` in pulumi/pulumi
    ``sdk/go/common/workspace/loaders.go`` strips a UTF-8 BOM; gopkg.in/yaml.v3
    ``readerc.go`` reads UTF-16 by its BOM): UTF-8 without or with a BOM, UTF-16 with a BOM.
    Pipes and devices are read too (``--outputs <(pulumi stack output --json)``), up to the cap.
    """
    stat_input(path, what=what, regular=False)
    try:
        with open(path, "rb") as handle:
            status = os.fstat(handle.fileno())
            if stat.S_ISDIR(status.st_mode):
                raise UsageError(f"cannot read {what} {_quote(path)}: it is a directory, not a file")
            data = handle.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {_quote(path)}: {_reason(exc)}") from None
    except ValueError:
        raise UsageError(f"cannot read {what} {_quote(path)}: the path holds a NUL character") from None
    if len(data) > limit:
        raise UsageError(
            f"{what} {_quote(path)} is larger than {_size(limit)}, the most mlstack reads; "
            "is it the right file?"
        )
    if stat.S_ISREG(status.st_mode):
        _READ[(status.st_dev, status.st_ino)] = (os.fspath(path), what)
    return _decode(data, path, what)


def _decode(data: bytes, path: PathLike, what: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data, encoding = data[3:], "utf-8"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
    fix = "save it as UTF-8"
    if encoding == "utf-8" and _looks_like_utf16(data):
        raise UsageError(f"{what} {_quote(path)} looks like UTF-16 text without a byte order mark; {fix}")
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        if b"\x00" in data and encoding == "utf-8":
            raise UsageError(f"{what} {_quote(path)} is a binary file, not text") from None
        bad = data[exc.start : exc.start + 1].hex()
        name = "UTF-16" if encoding == "utf-16" else "UTF-8"
        raise UsageError(f"{what} {_quote(path)} is not {name} text (byte 0x{bad} at offset {exc.start}); {fix}") from None
    if "\x00" in text:
        raise UsageError(f"{what} {_quote(path)} is a binary file, not text (it holds NUL characters)")
    return text


def _looks_like_utf16(data: bytes) -> bool:
    # ASCII text in UTF-16 without a BOM: every other byte is NUL.
    sample = data[:200]
    if len(sample) < 4:
        return False
    even, odd = sample[0::2].count(0) / len(sample[0::2]), sample[1::2].count(0) / len(sample[1::2])
    return (odd > 0.6 and even < 0.1) or (even > 0.6 and odd < 0.1)


def _size(limit: int) -> str:
    return f"{limit // (1 << 20)} MiB" if limit % (1 << 20) == 0 else f"{limit} bytes"


def forget_inputs() -> None:
    """Start a new command: forget the files earlier commands of this process read."""
    _READ.clear()


def inputs_read() -> list[tuple[str, str]]:
    """The files read so far by :func:`read_text`, as (path, what)."""
    return list(_READ.values())


@dataclass
class Output:
    """Where a command writes a file, checked by :func:`open_output`; ``write`` once."""

    target: str
    option: str
    path: Path | None
    """The resolved file (links followed); None for stdout."""
    inputs: tuple[Input, ...] = ()
    special: bool = False
    """A device or pipe (``/dev/stdout``): written in place, there is nothing to replace."""

    @property
    def is_stdout(self) -> bool:
        return self.path is None

    def write(self, text: str) -> None:
        """Write ``text`` completely or not at all (temporary file, then rename)."""
        if self.path is None:
            sys.stdout.write(text)
            return
        self._refuse_inputs([*self.inputs, *((p, w) for p, w in inputs_read())])
        try:
            if self.special:
                with open(self.path, "w", encoding="utf-8") as handle:
                    handle.write(text)
                return
            _atomic_write(self.path, text)
        except OSError as exc:
            raise UsageError(f"cannot write {self.option} {_quote(self.target)}: {_reason(exc)}; nothing was written") from None

    def _refuse_inputs(self, inputs: Iterable[Input]) -> None:
        assert self.path is not None
        try:
            mine = os.stat(self.path)
        except OSError:
            return  # does not exist yet, so it is none of the inputs
        for path, what in inputs:
            try:
                theirs = os.stat(path)
            except (OSError, ValueError):
                continue
            if (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino):
                same = "" if os.path.realpath(path) == os.fspath(self.path) else f" ({os.fspath(path)}, through a link)"
                raise UsageError(
                    f"{self.option} {_quote(self.target)} is {what} this command reads{same}; "
                    "refusing to overwrite it: write the output to another file"
                )


def open_output(target: PathLike, *, option: str, inputs: Iterable[Input] = ()) -> Output:
    """Check where ``option`` (``--json``, ``-o``) writes, before the command does its work.

    ``-`` is stdout. Raises :class:`UsageError` (exit 2) when the directory is missing or not
    writable, the target is a directory, or it is one of ``inputs`` or a file read so far.
    """
    target = os.fspath(target)
    inputs = tuple(inputs)
    if target == "-":
        return Output(target, option, None, inputs)
    if not target:
        raise UsageError(f"{option}: give a file path, or '-' for stdout (got an empty path)")
    if "\x00" in target:
        raise UsageError(f"{option} {_quote(target)}: the path holds a NUL character")
    where = f"{option} {_quote(target)}"
    try:
        status: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        status = None
    except NotADirectoryError:
        raise UsageError(f"cannot write {where}: a part of the path is not a directory") from None
    except OSError as exc:
        raise UsageError(f"cannot write {where}: {_reason(exc)}") from None
    if status is not None and stat.S_ISDIR(status.st_mode):
        raise UsageError(f"cannot write {where}: it is a directory; name a file in it")
    real = Path(os.path.realpath(target))
    directory = real.parent
    if status is None:
        try:
            parent = os.stat(directory)
        except OSError:
            raise UsageError(f"cannot write {where}: the directory {str(Path(target).parent)!r} does not exist; create it first") from None
        if not stat.S_ISDIR(parent.st_mode):
            raise UsageError(f"cannot write {where}: {str(Path(target).parent)!r} is not a directory")
        if len(real.name.encode()) > _name_max(directory):
            raise UsageError(f"cannot write {where}: {_REASONS[errno.ENAMETOOLONG]}")
    output = Output(target, option, real, inputs, special=status is not None and not stat.S_ISREG(status.st_mode))
    output._refuse_inputs([*inputs, *inputs_read()])
    if not output.special:
        _probe(directory, where)
    return output


def _name_max(directory: Path) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _probe(directory: Path, where: str) -> None:
    """Create and remove a temporary file where the output will go: the only sure test of
    writability (permissions, read-only mounts, ACLs, root)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".mlstack-", suffix=".probe", dir=directory)
    except OSError as exc:
        raise UsageError(f"cannot write {where}: {_reason(exc)} in {str(directory)!r}") from None
    os.close(fd)
    os.unlink(name)


def _atomic_write(path: Path, text: str) -> None:
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name[:200]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
