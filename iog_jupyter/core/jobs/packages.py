"""Uploaded ``working_dir`` packages: zips validated whole, then kept as directories on the head.

Scheme: ``store_zip()`` checks a zip *before* extracting anything (entry count, names, symlinks,
setuid/setgid bits, declared expanded size), extracts it with the actual written bytes capped too
(a zip whose headers lie about sizes is stopped mid-way), and keeps the result as
``<root>/<sha256 of the zip>/``. It returns ``iog-package://<sha256>``; validation maps that URI
back to the directory, and the jobs backend hands Ray a *local directory* as ``working_dir`` —
Ray's own client zips and uploads it (``gcs://_ray_pkg_…``) as it does for ``ray job submit``.
Only URIs this store produced resolve, so a client cannot name a foreign package.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ..errors import ValidationError

log = logging.getLogger(__name__)

URI_SCHEME = "iog-package://"
_URI_RE = re.compile(r"^iog-package://([0-9a-f]{64})$")
_CHUNK = 1 << 16

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_MAX_EXPANDED_BYTES = 1024 * 1024 * 1024


def _check_entry(info: zipfile.ZipInfo) -> None:
    """Refuse one zip entry that could escape the target or carry dangerous bits."""
    name = info.filename
    shown = name[:200]
    if not name or "\x00" in name:
        raise ValidationError("The zip has an entry with an empty or NUL-containing name.")
    if "\\" in name:
        raise ValidationError(
            f"The zip entry {shown!r} uses backslashes; build the zip with forward slashes."
        )
    path = PurePosixPath(name)
    if path.is_absolute() or re.match(r"^[A-Za-z]:", name):
        raise ValidationError(f"The zip entry {shown!r} is an absolute path; use relative paths.")
    if ".." in path.parts:
        raise ValidationError(f"The zip entry {shown!r} points outside the package ('..').")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ValidationError(
            f"The zip entry {shown!r} is a symbolic link; links are refused. Zip the file itself."
        )
    if mode & (stat.S_ISUID | stat.S_ISGID):
        raise ValidationError(f"The zip entry {shown!r} has the setuid or setgid bit; remove it.")
    if info.flag_bits & 0x1:
        raise ValidationError(f"The zip entry {shown!r} is encrypted; upload an unencrypted zip.")


class PackageStore:
    """Validated ``working_dir`` uploads, one directory each under ``root`` (created 0700)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def store_zip(
        self,
        data: bytes | BinaryIO,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_BYTES,
    ) -> str:
        """Validate a zip whole, keep its contents, and return the URI that names them.

        Memory stays bounded (the zip is copied to a temp file in chunks) and so does time (the
        entry count and the bytes written are capped; ``max_expanded_bytes`` stops zip bombs).
        Nothing is kept when any check fails. The URI, ``iog-package://<sha256>``, is usable as
        ``runtime_env.working_dir``.

        Raises:
            ValidationError: The zip is too large, malformed, or has a refused entry.
        """
        fd, tmp_zip = tempfile.mkstemp(prefix=".upload-", suffix=".zip", dir=self.root)
        digest = hashlib.sha256()
        source = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
        try:
            with os.fdopen(fd, "wb") as out:
                size = 0
                for chunk in iter(lambda: source.read(_CHUNK), b""):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ValidationError(
                            f"The package is larger than {max_bytes} bytes; exclude data files "
                            "and large outputs from the working directory."
                        )
                    digest.update(chunk)
                    out.write(chunk)
            sha = digest.hexdigest()
            if not (self.root / sha).is_dir():
                self._extract(tmp_zip, self.root / sha, max_entries, max_expanded_bytes)
                log.info("Stored package %s (%d bytes)", sha[:12], size)
            return URI_SCHEME + sha
        finally:
            Path(tmp_zip).unlink(missing_ok=True)

    def _extract(self, zip_path: str, target: Path, max_entries: int, max_expanded: int) -> None:
        try:
            archive = zipfile.ZipFile(zip_path)
        except (zipfile.BadZipFile, OSError) as err:
            raise ValidationError(f"The upload is not a valid zip file ({err}).") from None
        staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=self.root))
        try:
            with archive:
                infos = archive.infolist()
                if len(infos) > max_entries:
                    raise ValidationError(
                        f"The zip has {len(infos)} entries; at most {max_entries} are accepted."
                    )
                for info in infos:
                    _check_entry(info)
                declared = sum(info.file_size for info in infos)
                if declared > max_expanded:
                    raise ValidationError(
                        f"The zip expands to {declared} bytes; at most {max_expanded} are accepted."
                    )
                written = 0
                for info in infos:
                    dest = staging.joinpath(*PurePosixPath(info.filename).parts)
                    if info.is_dir():
                        dest.mkdir(parents=True, exist_ok=True)
                        continue
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(info) as src, open(dest, "wb") as out:
                        while chunk := src.read(_CHUNK):
                            written += len(chunk)
                            if written > max_expanded:
                                raise ValidationError(
                                    f"The zip expands to more than {max_expanded} bytes."
                                )
                            out.write(chunk)
                    executable = (info.external_attr >> 16) & 0o111
                    dest.chmod(0o755 if executable else 0o644)
            staging.rename(target)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as err:
            raise ValidationError(f"The zip could not be read ({type(err).__name__}).") from None
        except OSError as err:
            if target.is_dir():  # a concurrent upload of the same zip won the rename
                return
            raise ValidationError(f"The zip could not be extracted ({err.strerror}).") from None
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def resolve(self, uri: str) -> str:
        """The directory behind a URI this store produced.

        Raises:
            ValidationError: The URI is not one of ours, or the package was removed.
        """
        match = _URI_RE.match(uri)
        if not match or not (self.root / match.group(1)).is_dir():
            raise ValidationError(
                f"{uri[:100]!r} is not a package uploaded to this server; upload the working "
                "directory with POST packages (or `iog jobs submit --working-dir`) first."
            )
        return str(self.root / match.group(1))
