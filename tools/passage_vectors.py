"""The bundled corpus's passage vectors, shipped with the code so a fresh clone need not embed it.

Embedding the bundled corpus with the bundled e5 is most of a fresh clone's first `make serve`
(about a minute and a half on two cores). The vectors are the same on every machine, so they are
computed once (`make passage-vectors`) and stored in `tools/data/passage-vectors.npz`, keyed by a
hash of the model name and the exact passage text. The e5 embedder looks a passage up there
before embedding it: a passage that is new or changed is simply embedded, so a stale file only
costs time. `tests/component/test_passage_vectors.py` fails when the file no longer covers the
corpus, saying to run `make passage-vectors`.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

BUNDLED = Path(__file__).resolve().parent / "data" / "passage-vectors.npz"


def passage_key(model: str, text: str) -> str:
    """The lookup key of one passage's vector: sha256 of the model name and the text."""
    return hashlib.sha256(f"{model}\n{text}".encode()).hexdigest()


class PassageVectors:
    """Known passage vectors of one model, by `passage_key`."""

    def __init__(self, model: str, keys: Sequence[str], vectors: np.ndarray) -> None:
        self.model = model
        self._rows = {key: row for row, key in enumerate(keys)}
        self._vectors = np.asarray(vectors, np.float32)

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, text: str) -> np.ndarray | None:
        """The stored vector of this passage, or None."""
        row = self._rows.get(passage_key(self.model, text))
        return None if row is None else self._vectors[row]

    @classmethod
    def load(cls, path: Path, model: str) -> PassageVectors:
        """The vectors stored at `path` for `model`; empty when the file is missing or for
        another model (then everything is embedded, as without the file)."""
        if not path.is_file():
            return cls(model, [], np.zeros((0, 0), np.float32))
        with np.load(path, allow_pickle=False) as data:
            if str(data["model"]) != model:
                return cls(model, [], np.zeros((0, 0), np.float32))
            return cls(model, [str(k) for k in data["keys"]], data["vectors"])

    @staticmethod
    def save(path: Path, model: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Write the vectors of `texts` (rows of `vectors`) for `model` to `path`."""
        keys = sorted({passage_key(model, t): i for i, t in enumerate(texts)}.items())
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path, model=np.array(model), keys=np.array([k for k, _ in keys]),
            vectors=np.asarray(vectors, np.float32)[[i for _, i in keys]],
        )


@functools.lru_cache(maxsize=4)
def bundled_passage_vectors(model: str) -> PassageVectors:
    """The shipped vectors of the bundled corpus for `model` (loaded once per process)."""
    return PassageVectors.load(BUNDLED, model)
