"""Optional LLM-as-judge scores (openevals): correctness against the key points, groundedness
in the retrieved passages. On when a judge model is configured:

- `WWHD_JUDGE_BASE_URL` (+ `WWHD_JUDGE_MODEL`, optional `WWHD_JUDGE_API_KEY`): any
  OpenAI-compatible server, such as the local llama.cpp server;
- otherwise `WWHD_JUDGE_MODEL` with `OPENAI_API_KEY`: an OpenAI model.

Function-calling structured output keeps small local judges working (json_schema fails there).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from wwhd.core.settings import Settings, load_settings
from wwhd.evals.dataset import EvalCase
from wwhd.evals.evaluators import Answered

log = logging.getLogger(__name__)


@dataclass
class Judge:
    """Two openevals evaluators sharing one judge model."""

    name: str
    correctness: Any
    groundedness: Any

    def score(self, case: EvalCase, out: Answered) -> dict[str, float | None]:
        """judge_correctness and judge_groundedness in [0, 1] (None when the judge failed)."""
        reference = "; ".join(variants[0] for variants in case.key_points) or None
        context = "\n\n".join(s.get("text", "") for s in out.sources)
        scores: dict[str, float | None] = {}
        for key, evaluator, kwargs in (
            ("judge_correctness", self.correctness, {"reference_outputs": reference}),
            ("judge_groundedness", self.groundedness, {"context": context}),
        ):
            if key == "judge_correctness" and reference is None:
                continue
            try:
                result = evaluator(inputs=case.question, outputs=out.answer, **kwargs)
                scores[key] = float(result["score"])
            except Exception as exc:  # a judge failure must not fail the deterministic suite
                log.warning("judge %s failed on %s: %s", key, case.id, exc)
                scores[key] = None
        return scores


def make_judge(settings: Settings | None = None) -> Judge | None:
    """The judge the settings configure (`WWHD_JUDGE_*`), or None."""
    settings = settings or load_settings()
    base_url, model = settings.judge_base_url, settings.judge_model
    if not base_url and not (model and settings.openai_api_key):
        return None
    from langchain_openai import ChatOpenAI
    from openevals.llm import create_llm_as_judge
    from openevals.prompts import CORRECTNESS_PROMPT, RAG_GROUNDEDNESS_PROMPT

    chat = ChatOpenAI(
        model=model or "judge",
        base_url=base_url,
        api_key=(settings.judge_api_key or "not-needed") if base_url else settings.openai_api_key,
        temperature=0,
        timeout=120,
        max_retries=1,
    )
    kwargs = {"structured_output_kwargs": {"method": "function_calling"}}
    return Judge(
        name=f"{model or 'default'} at {base_url or 'OpenAI'}",
        correctness=create_llm_as_judge(
            prompt=CORRECTNESS_PROMPT, judge=chat, feedback_key="correctness", **kwargs
        ),
        groundedness=create_llm_as_judge(
            prompt=RAG_GROUNDEDNESS_PROMPT, judge=chat, feedback_key="groundedness", **kwargs
        ),
    )
