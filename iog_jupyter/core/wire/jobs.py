"""Job shapes: submit bodies, job records and pages, log pages, log-tail messages."""

from __future__ import annotations

import re
import shlex
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, computed_field, field_validator

from .base import SUBMISSION_ID_PATTERN, ResourceMap, WireModel, iso_field

#: Ray's job statuses (``ray.job_submission.JobStatus``), in Ray's words.
JobStatus = Literal["PENDING", "RUNNING", "STOPPED", "SUCCEEDED", "FAILED"]
STATUSES: tuple[str, ...] = JobStatus.__args__  # type: ignore[attr-defined]
TERMINAL_STATUSES = frozenset({"STOPPED", "SUCCEEDED", "FAILED"})
SUBMISSION_ID_RE = re.compile(SUBMISSION_ID_PATTERN)

#: Metadata keys that name a job (ours, then Ray's dashboard's), first present wins.
NAME_KEYS = ("name", "job_name")
#: The metadata key of the user who submitted a job (set by the server; drivers carry it too).
OWNER_KEY = "iog.owner"
#: A word shown bare (no quotes) in a command: plain characters, or a shell operator alone.
_BARE = re.compile(r"^([\w@%+=:,./~-]+|&&|\|\||[|;&<>]|>>|2>&1)$")

MAX_CPUS = 65_536
MAX_GPUS = 1024
MAX_MEMORY = 1 << 50
MAX_RESOURCE = 10**9
MAX_RESOURCES = 32
MAX_METADATA_KEYS = 32
MAX_KEY_CHARS = 128
MAX_PATH_CHARS = 4096
MAX_PARAMETERS = 64
#: Metadata a notebook job carries (``iog.`` keys are the server's own; users cannot set them).
NOTEBOOK_KEY = "iog.notebook"
NOTEBOOK_OUTPUT_KEY = "iog.notebook_output"
#: A key of ``metadata`` or ``entrypoint_resources``.
Key = Annotated[str, Field(min_length=1, max_length=MAX_KEY_CHARS)]
#: A resource amount: a finite number (not a bool) from 0 to ``MAX_RESOURCE``.
Amount = Annotated[float, Field(ge=0, le=MAX_RESOURCE, strict=True, allow_inf_nan=False)]


class JobOptions(WireModel):
    """What every submit body may give besides what to run (``SubmitRequest``, notebooks)."""

    model_config = ConfigDict(extra="forbid")

    submission_id: str | None = Field(None, pattern=SUBMISSION_ID_PATTERN)
    runtime_env: dict[str, Any] | None = Field(
        None,
        description=(
            "Allowlisted keys only (working_dir from POST packages or a directory under the "
            "server's root; env_vars; pip; uv; ...). Refused: conda, container, image_uri, "
            "py_executable, worker_process_setup_hook, remote URIs."
        ),
    )
    metadata: dict[Key, str] | None = Field(None, max_length=MAX_METADATA_KEYS)
    entrypoint_num_cpus: float | None = Field(
        None, ge=0, le=MAX_CPUS, strict=True, allow_inf_nan=False
    )
    entrypoint_num_gpus: float | None = Field(
        None, ge=0, le=MAX_GPUS, strict=True, allow_inf_nan=False
    )
    entrypoint_memory: int | None = Field(None, ge=0, le=MAX_MEMORY, strict=True)
    entrypoint_resources: dict[Key, Amount] | None = Field(None, max_length=MAX_RESOURCES)
    pool: str | None = Field(
        None, pattern=SUBMISSION_ID_PATTERN, description="The node pool to run the driver in."
    )

    @field_validator("entrypoint_memory", mode="before")
    @classmethod
    def _whole_float(cls, value: Any) -> Any:
        """A float without a fraction (JSON's ``1e9``) is a whole number of bytes."""
        return int(value) if isinstance(value, float) and value.is_integer() else value


class SubmitRequest(JobOptions):
    """``POST jobs``: what a client may send (checked whole by ``jobs.validation``)."""

    entrypoint: str = Field(description="Shell command run as the driver.")


class NotebookSubmitRequest(JobOptions):
    """``POST notebook-jobs``: run a notebook top to bottom as a Ray job (papermill).

    The notebook's folder is the job's ``working_dir``; the executed copy comes back next to
    the input as ``<stem>.<submission_id>.ipynb`` when the job ends.
    """

    path: str = Field(
        min_length=1,
        max_length=MAX_PATH_CHARS,
        description="The .ipynb file, relative to the Jupyter root (as the file browser shows it).",
    )
    parameters: dict[Key, Any] = Field(
        default_factory=dict,
        max_length=MAX_PARAMETERS,
        description="Values for the cell tagged `parameters` (papermill), as JSON values.",
    )
    kernel_name: str | None = Field(
        None, max_length=MAX_KEY_CHARS, description="Kernel to run it with (default: its own)."
    )


class NotebookSubmitReply(WireModel):
    """``POST notebook-jobs``: the job's id and where its executed copy will be written."""

    submission_id: str
    notebook: str = Field(description="The input, relative to the Jupyter root.")
    output: str = Field(description="The executed copy's path, relative to the Jupyter root.")


def job_name(metadata: dict[str, str], submission_id: str) -> str:
    """What to call a job: its metadata ``name`` (or ``job_name``), else ``submission_id``."""
    return next(filter(None, map(metadata.get, NAME_KEYS)), submission_id)


def display_command(entrypoint: str) -> str:
    """An entrypoint as a person would type it: ``python -c "print('hi')"``.

    Shell quoting made by a program (``shlex.join`` writes ``'print('"'"'hi'"'"')'``) is
    re-quoted word by word: bare where nothing needs quoting, in double quotes where that is
    enough, in single quotes otherwise. Text the shell cannot split is shown as it is.
    """
    try:
        words = shlex.split(entrypoint)
    except ValueError:
        return entrypoint.strip()
    shown = []
    for word in words:
        if _BARE.match(word):
            shown.append(word)
        elif not any(c in word for c in '"$`\\!'):
            shown.append(f'"{word}"')
        else:
            shown.append(shlex.quote(word))
    return " ".join(shown)


class JobRecord(WireModel):
    """One job as every surface shows it. ``runtime_env`` env var values are always redacted."""

    submission_id: str
    status: JobStatus
    entrypoint: str
    message: str | None = None
    owner: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    runtime_env: dict[str, Any] = Field(
        default_factory=dict, description="As submitted, with env_vars values redacted."
    )
    start_time_ms: int | None = None
    end_time_ms: int | None = None
    exit_code: int | None = None
    driver_pid: int | None = None
    pool: str | None = None
    entrypoint_num_cpus: float | None = None
    entrypoint_num_gpus: float | None = None
    entrypoint_memory: int | None = None
    entrypoint_resources: ResourceMap = Field(default_factory=dict)
    pending_reason: str | None = None
    backend: str = Field("", description="ray or local: the backend that ran it.")

    start_time = iso_field("start_time_ms", "``start_time_ms`` as ISO-8601 UTC.")
    end_time = iso_field("end_time_ms", "``end_time_ms`` as ISO-8601 UTC.")

    @computed_field
    def name(self) -> str:
        """What to call the job: its metadata ``name`` (or ``job_name``), else its id."""
        return job_name(self.metadata, self.submission_id)

    @computed_field
    def command(self) -> str:
        """The entrypoint as a person would type it (see :func:`display_command`)."""
        return display_command(self.entrypoint)

    @computed_field
    def notebook(self) -> str | None:
        """For a notebook job: the input notebook, relative to the Jupyter root."""
        return self.metadata.get(NOTEBOOK_KEY) or None

    @computed_field
    def notebook_output(self) -> str | None:
        """For a notebook job: where its executed copy is (or will be) written."""
        return self.metadata.get(NOTEBOOK_OUTPUT_KEY) or None

    @property
    def is_terminal(self) -> bool:
        """Whether the job has ended (STOPPED, SUCCEEDED or FAILED)."""
        return self.status in TERMINAL_STATUSES


class JobPage(WireModel):
    """One page of the job list, newest first, with an opaque cursor for the next page."""

    jobs: list[JobRecord]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
    total: int = Field(description="Jobs matching the filter.")


class LogPage(WireModel):
    """A byte-offset page of a job's log: ``text`` covers ``[offset, next_offset)``.

    ``eof`` is true when ``next_offset`` is the current end of the log *and* the job has ended,
    so no more bytes will ever come. Text is decoded as UTF-8 with replacement; offsets always
    count bytes, and a page never ends inside a multi-byte character.
    """

    submission_id: str
    text: str = Field(description="The log's bytes [offset, next_offset).")
    offset: int
    next_offset: int
    eof: bool = Field(description="The job ended and the log is all read.")


class SubmitReply(WireModel):
    """``POST jobs``: the id the job got."""

    submission_id: str


class StopReply(WireModel):
    """``POST jobs/{id}/stop``."""

    submission_id: str
    stopped: bool = Field(description="False: the job had already ended.")


class DeleteReply(WireModel):
    """``DELETE jobs/{id}``."""

    submission_id: str
    deleted: bool


class PackageReply(WireModel):
    """``POST packages``: where the upload is kept."""

    uri: str = Field(description="Use as runtime_env.working_dir.")


class JobListQuery(WireModel):
    """Query of ``GET jobs``."""

    status: str | None = Field(
        None, description="Comma-separated statuses to keep (PENDING,RUNNING,...)."
    )
    limit: int | None = Field(
        None, ge=1, description="Jobs per page (default 50, at most job_list_max_limit)."
    )
    cursor: str | None = Field(
        None, max_length=512, description="next_cursor of the previous page."
    )


class LogsQuery(WireModel):
    """Query of ``GET jobs/{id}/logs``."""

    offset: int = Field(0, ge=0, description="First byte to return.")
    limit_bytes: int | None = Field(
        None, ge=1, description="Most bytes to return (at most log_page_max_bytes)."
    )


class TailQuery(WireModel):
    """Query of ``WS jobs/{id}/logs/tail``."""

    offset: int = Field(0, ge=0, description="First byte to send.")


class LogMessage(WireModel):
    """``WS jobs/{id}/logs/tail``: the log's bytes [offset, next_offset); contiguous."""

    type: Literal["log"] = "log"
    offset: int
    next_offset: int
    text: str


class JobStatusMessage(WireModel):
    """``WS jobs/{id}/logs/tail``: the job ended (sent last, then the socket closes)."""

    type: Literal["status"] = "status"
    status: JobStatus
    exit_code: int | None = None
    message: str | None = None


class ErrorMessage(WireModel):
    """A websocket's last message when it cannot go on (the job was deleted, ...)."""

    type: Literal["error"] = "error"
    message: str
