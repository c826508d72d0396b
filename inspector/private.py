"""Files the tool writes that hold prompts and answers (recordings, `view --html` pages): readable by their owner
only (mode 0600), whatever the umask, and also when the file was there before with a wider mode."""

from __future__ import annotations

import os
import stat
from typing import IO

MODE = 0o600


def open_private(path: str | os.PathLike[str], *, exclusive: bool = False) -> IO[str]:
    """Open `path` for writing text, mode 0600; `exclusive`: fail if it exists (never overwrite a recording)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, MODE)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):  # not a FIFO or a terminal the user named
            os.fchmod(fd, MODE)
        return os.fdopen(fd, "w", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise
