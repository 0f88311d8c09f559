"""Reading the conversation: the latest user text and a compact history for model prompts."""

from __future__ import annotations

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage

# additional_kwargs key on assistant messages written because the model or store failed.
FALLBACK_MARK = "wwhd_fallback"


def message_text(message: AnyMessage) -> str | None:
    """The text of a message; None when it carries no text at all (e.g. only an image)."""
    content = message.content
    if isinstance(content, str):
        return content
    texts = [
        part if isinstance(part, str) else part.get("text", "")
        for part in content
        if isinstance(part, str) or (isinstance(part, dict) and part.get("type") == "text")
    ]
    return "\n".join(texts) if texts else None


def latest_user_text(messages: list[AnyMessage]) -> str | None:
    """Text of the newest human message ("" when there is none, None when it is not text)."""
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return message_text(message)
    return ""


def recent_history(messages: list[AnyMessage], turns: int = 3, max_chars: int = 600) -> list:
    """The last few user/assistant messages before the newest one, shortened, for prompts.

    Replies written because a dependency failed are left out (see FALLBACK_MARK)."""
    earlier = [
        m for m in messages[:-1]
        if isinstance(m, HumanMessage)
        or (isinstance(m, AIMessage) and not m.additional_kwargs.get(FALLBACK_MARK))
    ]
    trimmed = []
    for message in earlier[-2 * turns :]:
        text = (message_text(message) or "")[:max_chars]
        trimmed.append(type(message)(content=text))
    return trimmed
