"""Check a submit request before Ray sees anything; refusals say what to change.

Decisions (DESIGN §5):

- ``runtime_env`` keys are allowlisted: ``env_vars``, ``working_dir``, ``py_modules``, ``pip``,
  ``uv``, ``excludes``, ``config``. ``conda`` is refused (it names environment files or
  prebuilt environments on the nodes; use ``pip``/``uv``), and so are ``container``,
  ``image_uri``, ``py_executable``, ``worker_process_setup_hook`` and any other plugin key.
- ``pip``/``uv`` take requirement strings only: no options (``--index-url``, ``-r file``), no
  URLs or paths, so a job cannot make the head node fetch from or read arbitrary places.
- ``working_dir`` and each ``py_modules`` entry is either an ``iog-package://`` URI our own
  :class:`PackageStore` produced, or an existing directory under an allowed root (the Jupyter root
  dir), resolved with ``realpath`` so a symlink cannot escape. Both become a local directory
  path, which Ray's client uploads itself.
- ``pool`` is recorded in metadata (``iog.pool``); the backend maps it to a label selector or a
  pool resource against the live cluster (see ``pools.pool_placement``).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Sequence
from typing import Any, TypeVar

import pathspec
from pydantic import ValidationError as PydanticValidationError

from ..errors import ValidationError
from ..wire import SUBMISSION_ID_RE, SubmitRequest
from ..wire.base import SUBMISSION_ID_RULE, WireModel, refusal
from ..wire.jobs import MAX_KEY_CHARS
from .base import OWNER_KEY, POOL_KEY, JobSubmission
from .packages import URI_SCHEME, PackageStore

ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
SERVER_KEY_PREFIX = "iog."
REDACTED = "<redacted>"

RUNTIME_ENV_KEYS = frozenset(
    {"env_vars", "working_dir", "py_modules", "pip", "uv", "excludes", "config"}
)
REFUSED_RUNTIME_ENV = {
    "container": "container images are not allowed on this cluster",
    "image_uri": "container images are not allowed on this cluster",
    "py_executable": "a custom Python executable is not allowed",
    "worker_process_setup_hook": "worker setup hooks run code in every worker and are refused",
    "conda": "conda environments are not supported; list packages under 'pip' or 'uv'",
}
#: Ray's own env vars a job may not override: they steer how the driver authenticates.
PROTECTED_ENV = frozenset({"RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_AUTH_MODE"})

MAX_ENTRYPOINT_BYTES = 10 * 1024
MAX_METADATA_VALUE = 1024
MAX_METADATA_TOTAL = 16 * 1024
MAX_ENV_VARS = 128
MAX_ENV_VALUE = 32 * 1024
MAX_LIST_ITEMS = 64
MAX_REQUIREMENT = 256
M = TypeVar("M", bound=WireModel)


def new_submission_id() -> str:
    """A fresh id: ``iog_<UTC timestamp>_<random hex>``."""
    return f"iog_{time.strftime('%Y%m%d%H%M%S', time.gmtime())}_{secrets.token_hex(4)}"


def check_submission_id(submission_id: str) -> str:
    """Return ``submission_id`` if it has the allowed shape; no other id reaches a backend."""
    if not isinstance(submission_id, str) or not SUBMISSION_ID_RE.match(submission_id):
        raise ValidationError(
            f"Bad submission id {str(submission_id)[:70]!r}: use {SUBMISSION_ID_RULE}.",
            reason="bad_submission_id",
        )
    return submission_id


def parse_request(model: type[M], body: Any, what: str) -> M:
    """``body`` (a JSON object) as ``model``; ``what`` (``"The job"``) names it in a refusal."""
    if isinstance(body, model):
        return body
    if not isinstance(body, dict):
        raise ValidationError(f"{what} must be a JSON object.")
    try:
        return model.model_validate(body)
    except PydanticValidationError as error:
        raise ValidationError(refusal(model, error)) from None


def is_under(path: str, root: str) -> bool:
    """Whether real path ``path`` is ``root`` or inside it."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _str_list(name: str, value: Any, max_len: int = MAX_REQUIREMENT) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(f"{name} must be a list of strings.")
    if len(value) > MAX_LIST_ITEMS:
        raise ValidationError(f"{name} has {len(value)} items; at most {MAX_LIST_ITEMS}.")
    if any(not item or len(item) > max_len for item in value):
        raise ValidationError(f"Each {name} item must be 1 to {max_len} characters.")
    return list(value)


def _metadata(meta: dict[str, str], owner: str, pool: str | None) -> dict[str, str]:
    total = 0
    for key, value in meta.items():
        if key.startswith(SERVER_KEY_PREFIX):
            raise ValidationError(
                f"metadata key {key[:64]!r} is reserved: keys starting with 'iog.' are set by "
                "the server (owner, pool). Rename it."
            )
        if len(value.encode()) > MAX_METADATA_VALUE:
            raise ValidationError(
                f"metadata value of {key[:64]!r} is longer than {MAX_METADATA_VALUE} bytes."
            )
        total += len(key.encode()) + len(value.encode())
    if total > MAX_METADATA_TOTAL:
        raise ValidationError(f"metadata is {total} bytes in all; at most {MAX_METADATA_TOTAL}.")
    meta[OWNER_KEY] = owner[:MAX_KEY_CHARS] if owner else "unknown"
    if pool:
        meta[POOL_KEY] = pool
    return meta


def resolve_directory(
    value: Any, what: str, roots: Sequence[str], package_store: PackageStore | None
) -> str:
    """The real (symlink-free) directory of a ``working_dir``/``py_modules`` entry (``what``).

    ``value`` is an ``iog-package://`` URI of ``package_store`` or an existing directory under
    one of ``roots``; anything else is a ``ValidationError``.
    """
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{what} must be a non-empty string.")
    if value.startswith(URI_SCHEME):
        if package_store is None:
            raise ValidationError(f"{what}: package uploads are not enabled on this server.")
        return package_store.resolve(value)
    if "://" in value:
        scheme = value.split("://", 1)[0][:16]
        raise ValidationError(
            f"{what}: {scheme}:// URIs are refused. Upload the directory with POST packages "
            "and use the iog-package:// URI it returns, or name a directory under the Jupyter "
            "root."
        )
    if not os.path.isabs(value):
        raise ValidationError(f"{what} must be an absolute directory path or a package URI.")
    real = os.path.realpath(value)
    if not any(is_under(real, os.path.realpath(root)) for root in roots):
        raise ValidationError(
            f"{what} {value[:200]!r} is outside the directories jobs may use (the Jupyter root)."
        )
    if not os.path.isdir(real):
        raise ValidationError(f"{what} {value[:200]!r} is not an existing directory.")
    return real


def _runtime_env(
    raw: dict[str, Any], roots: Sequence[str], package_store: PackageStore | None
) -> dict[str, Any]:
    env: dict[str, Any] = {}
    for key, value in raw.items():
        if key in REFUSED_RUNTIME_ENV:
            raise ValidationError(f"runtime_env.{key} is refused: {REFUSED_RUNTIME_ENV[key]}.")
        if key not in RUNTIME_ENV_KEYS:
            raise ValidationError(
                f"runtime_env.{str(key)[:64]} is not allowed; allowed keys: "
                + ", ".join(sorted(RUNTIME_ENV_KEYS))
                + "."
            )
        if key == "env_vars":
            env[key] = _env_vars(value)
        elif key == "working_dir":
            env[key] = resolve_directory(value, "working_dir", roots, package_store)
        elif key == "py_modules":
            mods = _str_list("py_modules", value, max_len=4096)
            env[key] = [resolve_directory(m, "py_modules", roots, package_store) for m in mods]
        elif key in ("pip", "uv"):
            env[key] = _requirements(key, value)
        elif key == "excludes":
            env[key] = _excludes(value)
        else:
            env[key] = _config(value)
    return env


def _excludes(value: Any) -> list[str]:
    """Ray's gitwildmatch patterns; one its matcher cannot read is refused here, not later."""
    patterns = _str_list("excludes", value)
    try:
        pathspec.GitIgnoreSpec.from_lines(patterns)
    except (ValueError, re.error) as err:  # pathspec's GitIgnorePatternError is a ValueError
        raise ValidationError(
            f"runtime_env.excludes has a pattern that is not valid: {err}."
        ) from None
    return patterns


def _env_vars(env: Any) -> dict[str, str]:
    if not isinstance(env, dict):
        raise ValidationError("runtime_env.env_vars must be an object of strings to strings.")
    if len(env) > MAX_ENV_VARS:
        raise ValidationError(f"runtime_env.env_vars has {len(env)} entries; at most 128.")
    for name, item in env.items():
        if not isinstance(name, str) or not isinstance(item, str):
            raise ValidationError(
                f"runtime_env.env_vars must map strings to strings; {name!r} does not."
            )
        if not ENV_NAME_RE.match(name):
            raise ValidationError(
                f"runtime_env.env_vars name {name[:64]!r} is not a valid variable name."
            )
        if name in PROTECTED_ENV:
            raise ValidationError(
                f"runtime_env.env_vars may not set {name}: the server sets Ray's auth itself."
            )
        if len(item.encode()) > MAX_ENV_VALUE:
            raise ValidationError(f"runtime_env.env_vars {name} is longer than 32 KiB.")
    return dict(env)


def _requirements(key: str, value: Any) -> Any:
    packages = value.get("packages") if isinstance(value, dict) else value
    if isinstance(value, dict) and set(value) - {"packages", "pip_check"}:
        raise ValidationError(f"runtime_env.{key} accepts only 'packages' and 'pip_check'.")
    reqs = _str_list(f"runtime_env.{key}", packages)
    for req in reqs:
        if req.lstrip().startswith("-") or "://" in req or "/" in req or "\\" in req:
            raise ValidationError(
                f"runtime_env.{key} entry {req[:80]!r} is refused: give requirement strings "
                "such as 'numpy==2.1', not options, URLs or paths."
            )
    if isinstance(value, dict):
        check = value.get("pip_check", False)
        if not isinstance(check, bool):
            raise ValidationError(f"runtime_env.{key}.pip_check must be true or false.")
        return {"packages": reqs, "pip_check": check}
    return reqs


def _config(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - {"setup_timeout_seconds", "eager_install"}:
        raise ValidationError(
            "runtime_env.config accepts only setup_timeout_seconds and eager_install."
        )
    secs = value.get("setup_timeout_seconds", 1)
    if isinstance(secs, bool) or not isinstance(secs, int) or not 1 <= secs <= 3600:
        raise ValidationError("runtime_env.config.setup_timeout_seconds must be 1 to 3600.")
    if not isinstance(value.get("eager_install", False), bool):
        raise ValidationError("runtime_env.config.eager_install must be true or false.")
    return dict(value)


def validate_submission(
    body: Any,
    owner: str,
    allowed_working_dir_roots: Sequence[str],
    package_store: PackageStore | None,
) -> JobSubmission:
    """Check a submit ``body`` and turn it into a :class:`JobSubmission` (with an id).

    ``owner`` (the authenticated user) is recorded as ``iog.owner``, never taken from the body.
    Directories come from ``package_store`` (None refuses ``iog-package://`` URIs) or from under
    ``allowed_working_dir_roots``. Raises ``ValidationError``: the first problem found, in words
    a person can act on.
    """
    request = parse_request(SubmitRequest, body, "The job")
    entrypoint = request.entrypoint
    if not entrypoint.strip():
        raise ValidationError("entrypoint is required: the shell command that starts the job.")
    if len(entrypoint.encode()) > MAX_ENTRYPOINT_BYTES:
        raise ValidationError("entrypoint is longer than 10 KiB; put the command in a script.")
    if "\x00" in entrypoint:
        raise ValidationError("entrypoint contains a NUL character.")
    resources = request.entrypoint_resources or {}
    for name in resources:
        if name.startswith("node:"):
            raise ValidationError(
                f"entrypoint_resources {name[:64]!r} is refused: 'node:' resources are Ray's "
                "own; use pool to choose where the job runs."
            )
        if name in ("CPU", "GPU", "memory"):
            raise ValidationError(
                f"entrypoint_resources may not name {name}; use entrypoint_num_cpus, "
                "entrypoint_num_gpus or entrypoint_memory."
            )
    return JobSubmission(
        entrypoint=entrypoint,
        submission_id=request.submission_id or new_submission_id(),
        runtime_env=_runtime_env(
            request.runtime_env or {}, allowed_working_dir_roots, package_store
        ),
        metadata=_metadata(request.metadata or {}, owner, request.pool),
        entrypoint_num_cpus=request.entrypoint_num_cpus,
        entrypoint_num_gpus=request.entrypoint_num_gpus,
        entrypoint_memory=request.entrypoint_memory,
        entrypoint_resources=resources,
        pool=request.pool,
    )


def redact_runtime_env(runtime_env: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``runtime_env`` with every ``env_vars`` value replaced by ``<redacted>``."""
    out = dict(runtime_env)
    env = out.get("env_vars")
    if env is not None:
        out["env_vars"] = {str(k): REDACTED for k in env} if isinstance(env, dict) else REDACTED
    return out
