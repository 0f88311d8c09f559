"""The shipped passage vectors of the bundled corpus: complete, and the vectors e5 computes."""

import numpy as np
import pytest

from devtools.passage_vectors import corpus_passages
from wwhd.tools.embeddings import E5_MODEL_NAME, E5Embeddings
from wwhd.tools.passage_vectors import BUNDLED, PassageVectors


@pytest.fixture(scope="module")
def shipped() -> PassageVectors:
    return PassageVectors.load(BUNDLED, E5_MODEL_NAME)


def test_every_passage_of_the_bundled_corpus_has_its_vector(shipped):
    missing = [text[:60] for text in corpus_passages() if shipped.get(text) is None]
    assert not missing, (
        f"{len(missing)} corpus passages have no shipped vector (a fresh clone would embed them "
        f"on its first start): run `make passage-vectors` and commit {BUNDLED.name}. "
        f"First ones: {missing[:3]}"
    )


def test_shipped_vectors_are_what_e5_computes_and_new_text_is_embedded(shipped):
    texts = corpus_passages()[::150]
    fresh = np.asarray(E5Embeddings().embed_documents(texts))
    stored = np.stack([shipped.get(text) for text in texts])
    # The same model on another CPU may differ in the last bits, never in meaning.
    norms = np.linalg.norm(fresh, axis=1) * np.linalg.norm(stored, axis=1)
    cosine = (fresh * stored).sum(1) / norms
    assert cosine.min() > 0.9999

    with_known = E5Embeddings(known=shipped)
    new = "passage: a sentence that no corpus document contains, about nothing in particular"
    mixed = np.asarray(with_known.embed_documents([texts[0], new]))
    assert np.allclose(mixed[0], stored[0])
    assert np.allclose(mixed[1], np.asarray(E5Embeddings().embed_documents([new]))[0], atol=1e-5)


def test_a_file_for_another_model_is_not_used(tmp_path):
    path = tmp_path / "vectors.npz"
    PassageVectors.save(path, "some/other-model", ["a"], np.ones((1, 3), np.float32))
    assert len(PassageVectors.load(path, E5_MODEL_NAME)) == 0
    assert len(PassageVectors.load(tmp_path / "absent.npz", E5_MODEL_NAME)) == 0
    assert PassageVectors.load(path, "some/other-model").get("a") is not None
