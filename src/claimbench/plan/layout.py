"""Where the workflow's shared outputs live under the results folder: one object that the rules (outputs and
inputs) and the library (the inputs it plans for a job) both read, so a path is written once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    results: str = "results"

    def model(self, name: str) -> str:
        """The folder of a model the workflow converts or builds (rules/models.smk)."""
        return f"{self.results}/models/{name}"

    def split(self, name: str) -> str:
        """A split of the encounters: train, validation or test (rule split_encounters)."""
        return f"{self.results}/data/split/{name}.parquet"

    def neighbours(self, queries: str) -> str:
        """The nearest training notes of the test notes (``"test"``, rule retrieval_neighbours) or of the training
        and validation notes (``"finetune"``, rule finetune_neighbours)."""
        return f"{self.results}/retrieval/{'finetune_' if queries == 'finetune' else ''}neighbours.parquet"

    def code_hints(self, queries: str) -> str:
        """The code hints (beyond the paper, prompt kind rag_lexicon) of the test notes (``"test"``, rule code_hints)
        or of the training and validation notes (``"finetune"``, rule finetune_code_hints)."""
        return f"{self.results}/retrieval/{'finetune_' if queries == 'finetune' else ''}code_hints.parquet"

    def finetuned(self, configuration: str, name: str) -> str:
        """A fine-tuned configuration's ``adapter``, ``train_stats.json``, ``merged`` model or ``merge_stats.json``
        (rules finetune and merge_adapter)."""
        return f"{self.results}/finetune/{configuration}/{name}"

    def predictions(self, configuration: str, suffix: str = "jsonl") -> str:
        """A configuration's predictions (``jsonl``) or their ``meta.json`` (rule predict)."""
        return f"{self.results}/predictions/{configuration}.{suffix}"

    def decoding_choice(self, configuration: str) -> str:
        """A configuration's decoding settings chosen on the validation split (rule select_decoding)."""
        return f"{self.results}/predictions/decoding/{configuration}.json"

    def grounding(self, name: str, configuration: str | None = None) -> str:
        """Description-grounded coding's files (rules/grounding.smk): the code sets' ``codeset_index``, the training
        split's ``evidence_anchors``, or a configuration's validation-chosen ``choice`` (prompt describe) or
        ``reference_choice`` (method grounded)."""
        if configuration is None:
            return f"{self.results}/grounding/{name}.npz"
        return f"{self.results}/grounding/{name}/{configuration}.json"

    def paper002(self, path: str = "") -> str:
        """Paper 002's stage folder (rules/paper002.smk), or a path under it."""
        return f"{self.results}/paper002" + (f"/{path}" if path else "")


LAYOUT = Layout()
