"""Every shape that crosses the wire, as pydantic models: the one source of the REST contract.

The OpenAPI document (``iog_jupyter.openapi``) and the frontend's TypeScript types
(``labextension/src/api/schema.d.ts``) are generated from these models; ``model_dump(mode="json")``
is the JSON on the wire. Grouped by area: cluster, jobs, sessions, actors, doctor, events.
"""

from .actors import ACTOR_STATES as ACTOR_STATES
from .actors import DEFAULT_LIMIT as DEFAULT_LIMIT
from .actors import MAX_LIMIT as MAX_LIMIT
from .actors import MAX_NAME_CHARS as MAX_NAME_CHARS
from .actors import ActorKillReply as ActorKillReply
from .actors import ActorListQuery as ActorListQuery
from .actors import ActorPage as ActorPage
from .actors import ActorRecord as ActorRecord
from .base import Error as Error
from .base import WireModel as WireModel
from .base import iso_from_ms as iso_from_ms
from .cluster import STANDARD_RESOURCES as STANDARD_RESOURCES
from .cluster import ClusterDeltaMessage as ClusterDeltaMessage
from .cluster import ClusterHistory as ClusterHistory
from .cluster import ClusterSnapshot as ClusterSnapshot
from .cluster import ClusterSubscribeQuery as ClusterSubscribeQuery
from .cluster import GpuUsage as GpuUsage
from .cluster import HistoryPoint as HistoryPoint
from .cluster import HistoryQuery as HistoryQuery
from .cluster import NodeRecord as NodeRecord
from .cluster import NodeUsage as NodeUsage
from .cluster import PlacedNode as PlacedNode
from .cluster import PlacedNodeId as PlacedNodeId
from .cluster import PoolChange as PoolChange
from .cluster import PoolSummary as PoolSummary
from .cluster import RayCapabilities as RayCapabilities
from .cluster import RayInfo as RayInfo
from .cluster import ResourceDemand as ResourceDemand
from .cluster import SnapshotMessage as SnapshotMessage
from .cluster import Status as Status
from .cluster import StatusMessage as StatusMessage
from .doctor import FAIL as FAIL
from .doctor import OK as OK
from .doctor import WARN as WARN
from .doctor import Check as Check
from .doctor import DoctorReport as DoctorReport
from .events import ChangedMessage as ChangedMessage
from .events import EventsQuery as EventsQuery
from .events import SubscribedMessage as SubscribedMessage
from .jobs import STATUSES as STATUSES
from .jobs import SUBMISSION_ID_PATTERN as SUBMISSION_ID_PATTERN
from .jobs import SUBMISSION_ID_RE as SUBMISSION_ID_RE
from .jobs import TERMINAL_STATUSES as TERMINAL_STATUSES
from .jobs import DeleteReply as DeleteReply
from .jobs import ErrorMessage as ErrorMessage
from .jobs import JobListQuery as JobListQuery
from .jobs import JobPage as JobPage
from .jobs import JobRecord as JobRecord
from .jobs import JobStatusMessage as JobStatusMessage
from .jobs import LogMessage as LogMessage
from .jobs import LogPage as LogPage
from .jobs import LogsQuery as LogsQuery
from .jobs import PackageReply as PackageReply
from .jobs import StopReply as StopReply
from .jobs import SubmitReply as SubmitReply
from .jobs import SubmitRequest as SubmitRequest
from .jobs import TailQuery as TailQuery
from .sessions import IdlePolicy as IdlePolicy
from .sessions import ReleaseResult as ReleaseResult
from .sessions import SessionList as SessionList
from .sessions import SessionPolicyState as SessionPolicyState
from .sessions import SessionRecord as SessionRecord
