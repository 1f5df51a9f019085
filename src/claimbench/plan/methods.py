"""The methods a configuration can use (config ``configurations.<name>.method``; config/schema.yaml lists the same)."""

from __future__ import annotations

# a language-model method -> the prompt kind it uses unless the configuration names one (claimbench.prompts.KINDS)
LLM_PROMPTS = {"base": "base", "rag": "rag", "qlora": "finetuned"}
LLM_METHODS = tuple(LLM_PROMPTS)
RETRIEVAL_METHODS = ("rag", "knn")  # methods that read the nearest training notes
FINETUNED_METHOD = "qlora"  # the method whose model is fine-tuned (results/finetune/<name>/)
GROUNDED_METHOD = "grounded"  # beyond the paper: the note's lines resolved to codes without a language model
METHODS = (*LLM_METHODS, "knn", "api", GROUNDED_METHOD)
