"""bridge_protocol: the wire contract between the Bukkit plugin and quest-runtime.

Pydantic models of every request and response of SPEC §2 (protocol version
``PROTOCOL_VERSION``). Requests ignore unknown fields, as the plugin contract says;
responses are strict. This package imports nothing from ``quest_runtime``; its JSON
Schemas (``schema.py``) are generated, never hand-edited.
"""

from bridge_protocol.errors import ErrorBody, ErrorDetail, ErrorResponse
from bridge_protocol.explain import ExplainResponse, Explanation, NotFired
from bridge_protocol.plugin import (
    AdvanceResponse,
    DebugTasksResponse,
    EndResponse,
    PluginLoadResponse,
    RecommendationsResponse,
    WorldStateResponse,
)
from bridge_protocol.requests import (
    BatchRequest,
    EndRequest,
    LoadRequest,
    RuleEventRequest,
)
from bridge_protocol.results import (
    BatchResponse,
    Node,
    QuestLog,
    QuestLogCooldown,
    QuestLogMilestone,
    QuestLogTask,
    QuestLogUpcoming,
    RuleEventResponse,
    RuleEventResult,
    StreamMessage,
    Summary,
)

PROTOCOL_VERSION = 1

__all__ = [
    "PROTOCOL_VERSION",
    "AdvanceResponse",
    "BatchRequest",
    "BatchResponse",
    "DebugTasksResponse",
    "EndRequest",
    "EndResponse",
    "ErrorBody",
    "ErrorDetail",
    "ErrorResponse",
    "ExplainResponse",
    "Explanation",
    "LoadRequest",
    "Node",
    "NotFired",
    "PluginLoadResponse",
    "QuestLog",
    "QuestLogCooldown",
    "QuestLogMilestone",
    "QuestLogTask",
    "QuestLogUpcoming",
    "RecommendationsResponse",
    "RuleEventRequest",
    "RuleEventResponse",
    "RuleEventResult",
    "StreamMessage",
    "Summary",
    "WorldStateResponse",
]
