"""File writing shared by the stores of every module (checkpoints, reference costs, labelled
chunks, manifests). Kept free of torch so that data-only code paths do not import it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a unique temporary file in its folder (fsynced, then
    renamed), so a crash never leaves half a file and concurrent writers never share a temp
    file. Used for checkpoints and for the small stores of the problem modules."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["atomic_write"]
