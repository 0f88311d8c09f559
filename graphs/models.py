"""The chat model a run uses, and how internal model calls are kept out of token streams."""

from __future__ import annotations

import functools

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable
from langgraph.constants import TAG_NOSTREAM

from graphs.context import Context
from wwhd.providers import EXTRACTIVE, make_chat_model
from wwhd.settings import Settings, load_settings


def chat_model_for(context: Context) -> BaseChatModel | None:
    """The run's chat model, or None for the extractive default."""
    if context.chat_model == EXTRACTIVE:
        return None
    return _cached_model(load_settings(), context.chat_model or None)


@functools.lru_cache(maxsize=8)
def _cached_model(settings: Settings, model: str | None) -> BaseChatModel | None:
    return make_chat_model(settings, model)


def forget_models() -> None:
    """Drop cached model clients after a failure: their pooled connections may point at a
    server that has since restarted, and a fresh client reconnects cleanly."""
    _cached_model.cache_clear()


def internal(runnable: Runnable) -> Runnable:
    """Mark a model call as internal (routing, rewriting): not streamed to clients."""
    return runnable.with_config(tags=[TAG_NOSTREAM])
