"""The audit log: one JSON line per job submit/stop/delete, upload, release or kill.

Each record says when, who (the Jupyter user), from where (remote IP), what (action and target)
and how it ended (``outcome``: ``allowed``, ``refused``, ``failed``…). The file is created 0600
and tightened again if it was made wider. Callers pass short text only: never env var values,
tokens or request bodies; ``detail`` is cut to :data:`MAX_DETAIL` characters.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from datetime import datetime, timezone

log = logging.getLogger(__name__)

MAX_DETAIL = 500
MAX_FIELD = 256


def _short(value: object, limit: int = MAX_FIELD) -> str | None:
    if value is None:
        return None
    return str(value)[:limit]


class AuditLog:
    """An append-only JSON-lines audit file at ``path`` (its directory made 0700), thread-safe.

    Example:
        >>> audit = AuditLog("/tmp/iog-audit.jsonl")  # doctest: +SKIP
        >>> audit.record("job.submit", "train_1", "allowed", "alice", "127.0.0.1")  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        parent = os.path.dirname(self.path)
        if parent:
            os.makedirs(parent, mode=0o700, exist_ok=True)

    def record(
        self,
        action: str,
        target: str | None,
        outcome: str,
        user: str | None,
        remote_ip: str | None,
        detail: str | None = None,
    ) -> None:
        """Append one record: ``user`` at ``remote_ip`` tried ``action`` on ``target``.

        ``action`` is like ``job.submit`` or ``package.upload``; ``target`` a submission id or
        an actor name; ``detail`` short text such as a refusal's reason, never secrets.

        Raises:
            OSError: The file cannot be written.
        """
        entry = {
            "time": datetime.now(timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "user": _short(user),
            "remote_ip": _short(remote_ip, 64),
            "action": _short(action, 64),
            "target": _short(target),
            "outcome": _short(outcome, 64),
            "detail": _short(detail, MAX_DETAIL),
        }
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
                    os.fchmod(fd, 0o600)
                # One write() of an O_APPEND file: whole lines, even across processes.
                os.write(fd, line)
            finally:
                os.close(fd)
