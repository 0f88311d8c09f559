"""How internal model calls (routing, rewriting) are kept out of the token streams clients see."""

from __future__ import annotations

from langchain_core.runnables import Runnable
from langgraph.constants import TAG_NOSTREAM


def internal(runnable: Runnable) -> Runnable:
    """Mark a model call as internal: its tokens are not streamed to clients."""
    return runnable.with_config(tags=[TAG_NOSTREAM])
