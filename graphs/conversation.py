"""Reading the conversation: the latest user text and a compact history for model prompts."""

from __future__ import annotations

import re

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage

from wwhd.graphs.reply import body_of

# additional_kwargs key on assistant messages written because the model or store failed.
FALLBACK_MARK = "wwhd_fallback"

# Grammar, not vocabulary: a message that points back ("its", "that one", "what about ...")
# leans on the conversation for its subject.
_FOLLOW_UP = re.compile(
    r"\b(it|its|it's|this|that|these|those|they|them|their|he|him|his|she|her|one|there|"
    r"eso|esto|ello|ça|cela|dies)\b|"
    r"^\s*(and|also|what\s+about|how\s+about|more|why|how\s+so|which|y|et|und|und\s+was)\b|"
    r"\bhow\s+(much|many|often|long|hard)\b|\b(tell\s+me\s+more|elaborate|go\s+on|continue)\b|"
    r"^\s*(它|这|那|还有)|[它呢]",
    re.IGNORECASE,
)


def is_follow_up(text: str) -> bool:
    """Whether a message points back at earlier turns ("its cautions", "what about ...")."""
    return bool(_FOLLOW_UP.search(text))


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

    Replies written because a dependency failed are left out (see FALLBACK_MARK), and an
    assistant reply contributes its body only: its notes (safety note, urgent care, flags) are
    the server's to add, and a model shown them copies them into its next answer."""
    earlier = [
        m for m in messages[:-1]
        if isinstance(m, HumanMessage)
        or (isinstance(m, AIMessage) and not m.additional_kwargs.get(FALLBACK_MARK))
    ]
    trimmed = []
    for message in earlier[-2 * turns :]:
        text = (body_of(message) or message_text(message) or "")[:max_chars]
        trimmed.append(type(message)(content=text))
    return trimmed
