"""Every shape that crosses the wire, as pydantic models: the one source of the REST contract.

The OpenAPI document (``iog_jupyter.openapi``) and the frontend's TypeScript types
(``labextension/src/api/schema.d.ts``) are generated from these models; ``model_dump(mode="json")``
is the JSON on the wire. Grouped by area: cluster, jobs, sessions, actors, doctor, events, usage.
"""

# ruff: noqa: F401  (this module re-exports the models of its submodules)
from .actors import (
    ACTOR_STATES,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_NAME_CHARS,
    ActorKillReply,
    ActorListQuery,
    ActorPage,
    ActorRecord,
)
from .base import Error, WireModel, iso_from_ms
from .cluster import (
    STANDARD_RESOURCES,
    ClusterDeltaMessage,
    ClusterHistory,
    ClusterSnapshot,
    ClusterSubscribeQuery,
    GpuUsage,
    HistoryPoint,
    HistoryQuery,
    NodeRecord,
    NodeUsage,
    PoolSummary,
    RayCapabilities,
    RayInfo,
    ResourceDemand,
    SnapshotMessage,
    Status,
    StatusMessage,
)
from .doctor import FAIL, OK, WARN, Check, DoctorReport
from .events import ChangedMessage, EventsQuery, SubscribedMessage
from .jobs import (
    STATUSES,
    SUBMISSION_ID_RE,
    TERMINAL_STATUSES,
    DeleteReply,
    ErrorMessage,
    JobListQuery,
    JobPage,
    JobRecord,
    JobStatusMessage,
    LogMessage,
    LogPage,
    LogsQuery,
    NotebookSubmitReply,
    NotebookSubmitRequest,
    PackageReply,
    StopReply,
    SubmitReply,
    SubmitRequest,
    TailQuery,
)
from .sessions import (
    IdlePolicy,
    ReleaseResult,
    SessionList,
    SessionListQuery,
    SessionPolicyState,
    SessionRecord,
)
from .usage import USAGE_GROUPS, UsageQuery, UsageReport, UsageRow
