"""Retrieval: FAISS flat L2 search (known answers), neighbour tables, and the packaged all-MiniLM-L6-v2."""

import numpy as np
import pytest

from claimbench.retrieval import (
    build_index,
    embed,
    load_embedder,
    load_embeddings,
    neighbour_ids,
    neighbours_table,
    read_index,
    save_embeddings,
    search,
    write_index,
)


def test_flat_l2_search_known_answer(tmp_path):
    train = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0]], dtype=np.float32)
    index = build_index(train)
    write_index(index, tmp_path / "x.faiss")
    index = read_index(tmp_path / "x.faiss")
    distances, rows = search(index, np.array([[0.9, 0.1], [0.0, 1.6]], dtype=np.float32), k=2)
    assert rows.tolist() == [[1, 0], [2, 0]]
    # squared L2: (0.1^2 + 0.1^2), (0.9^2 + 0.1^2); (0.4^2), (1.6^2)
    np.testing.assert_allclose(distances, [[0.02, 0.82], [0.16, 2.56]], rtol=1e-5)


def test_neighbour_tables():
    table = neighbours_table(["t1", "t2"], ["a", "b", "c"], np.array([[0.1, 0.5], [0.2, 9.0]]),
                             np.array([[2, 0], [1, -1]]))
    assert table.to_dict("records") == [
        {"encounter_id": "t1", "rank": 1, "neighbour_id": "c", "distance": 0.1},
        {"encounter_id": "t1", "rank": 2, "neighbour_id": "a", "distance": 0.5},
        {"encounter_id": "t2", "rank": 1, "neighbour_id": "b", "distance": 0.2},
    ]
    assert neighbour_ids(table, 2) == {"t1": ["c", "a"], "t2": ["b"]}
    assert neighbour_ids(table, 1) == {"t1": ["c"], "t2": ["b"]}


def test_embeddings_roundtrip(tmp_path):
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    save_embeddings(tmp_path / "e.npz", ["x", "y"], vectors)
    ids, loaded = load_embeddings(tmp_path / "e.npz")
    assert ids == ["x", "y"] and np.array_equal(loaded, vectors)


def test_minilm_from_the_package_finds_the_similar_note():
    pytest.importorskip("sentence_transformers")
    import torch

    torch.set_num_threads(1)
    embedder = load_embedder()
    notes = [
        "Phacoemulsification of a right eye cataract with intraocular lens placement.",
        "Laparoscopic cholecystectomy for symptomatic gallstones.",
        "Open repair of a left inguinal hernia with mesh.",
    ]
    vectors = embed(notes, embedder)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    index = build_index(vectors)
    query = embed(["Cataract surgery on the right eye, lens implanted after phaco."], embedder)
    distances, rows = search(index, query, k=3)
    assert rows[0, 0] == 0
    # Each note is its own nearest neighbour at distance ~0.
    d_self, r_self = search(index, vectors, k=1)
    assert r_self[:, 0].tolist() == [0, 1, 2] and np.all(d_self < 1e-5)
