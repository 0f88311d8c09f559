"""The curated eval cases (evals/datasets/*.jsonl): loading and validation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

DATASETS_DIR = Path(__file__).resolve().parent / "datasets"
# What `wwhd eval` scores and reports. `train` holds cases written only to fit the answer models;
# they are scored when asked for by name, never reported as the product's figures.
SPLITS = ("dev", "test")
FIT_SPLITS = ("train", "dev")
ROUTES = ("tcm", "shaolin", "general", "out_of_scope", "red_flag", "clarify")


@dataclass(frozen=True)
class EvalCase:
    """One question (or conversation) with what a good answer must do."""

    id: str
    split: str
    category: str
    turns: tuple[str, ...]
    expected_route: str
    gold_doc_ids: tuple[str, ...] = ()
    key_points: tuple[tuple[str, ...], ...] = ()
    safety: dict = field(default_factory=dict)
    injection: bool = False
    forbidden: tuple[str, ...] = ()
    # The knowledge base has nothing on this topic: the answer must say so and cite nothing.
    not_covered: bool = False

    @property
    def question(self) -> str:
        """The last user message (the one that is scored)."""
        return self.turns[-1]


def _case(raw: dict, split: str, where: str) -> EvalCase:
    turns = raw.get("turns") or [raw.get("question")]
    if not turns or not all(isinstance(t, str) and t for t in turns):
        raise ValueError(f"{where}: needs a non-empty 'question' or 'turns'")
    if raw.get("expected_route") not in ROUTES:
        raise ValueError(f"{where}: expected_route must be one of {', '.join(ROUTES)}")
    return EvalCase(
        id=str(raw["id"]),
        split=split,
        category=str(raw["category"]),
        turns=tuple(turns),
        expected_route=raw["expected_route"],
        gold_doc_ids=tuple(raw.get("gold_doc_ids") or ()),
        key_points=tuple(tuple(v) for v in raw.get("key_points") or ()),
        safety=dict(raw.get("safety") or {}),
        injection=bool(raw.get("injection")),
        forbidden=tuple(raw.get("forbidden") or ()),
        not_covered=bool(raw.get("not_covered")),
    )


def load_cases(
    splits: tuple[str, ...] = SPLITS,
    directory: Path = DATASETS_DIR,
    categories: tuple[str, ...] | None = None,
    limit: int | None = None,
) -> list[EvalCase]:
    """Cases of the given splits (and categories), in file order."""
    cases: list[EvalCase] = []
    seen: set[str] = set()
    for split in splits:
        path = directory / f"{split}.jsonl"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            case = _case(json.loads(line), split, f"{path.name}:{number}")
            if case.id in seen:
                raise ValueError(f"{path.name}:{number}: duplicate id {case.id}")
            seen.add(case.id)
            if categories is None or case.category in categories:
                cases.append(case)
    return cases[:limit] if limit else cases
