"""Upload eval results to LangSmith when LANGSMITH_API_KEY is set (never in tests)."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

DATASET_NAME = "wwhd-curated-questions"


def upload_to_langsmith(results: dict) -> str | None:
    """Create (or reuse) the dataset and log one experiment with every record's metrics.

    Returns the experiment name, or None when LangSmith is not configured.
    Not exercised by the test suite: tests never set LANGSMITH_API_KEY or reach the network.
    """
    if not os.environ.get("LANGSMITH_API_KEY"):
        return None
    from langsmith import Client
    from langsmith.evaluation import evaluate

    client = Client()
    if not client.has_dataset(dataset_name=DATASET_NAME):
        dataset = client.create_dataset(DATASET_NAME, description="W.W.H.D. curated eval cases")
        client.create_examples(
            dataset_id=dataset.id,
            inputs=[{"id": r["id"], "turns": r["turns"]} for r in results["records"]],
            outputs=[{"expected_route": r["expected_route"]} for r in results["records"]],
        )
    by_id = {r["id"]: r for r in results["records"]}

    def replay(inputs: dict) -> dict:
        record = by_id.get(inputs["id"], {})
        return {"answer": record.get("answer", ""), "route": record.get("route")}

    def metrics(run, example) -> list[dict]:
        record = by_id.get(example.inputs["id"], {})
        return [
            {"key": name, "score": value}
            for name, value in record.get("metrics", {}).items()
            if value is not None
        ]

    experiment = evaluate(replay, data=DATASET_NAME, evaluators=[metrics],
                          experiment_prefix="wwhd-eval")
    log.info("uploaded eval results to LangSmith as %s", experiment.experiment_name)
    return experiment.experiment_name
