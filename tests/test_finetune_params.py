"""The paper's trainable-parameter counts (paper 000, Results "Fine Tuning") checked on meta-device Phi-3 models.

Paper: Phi-3-mini 201,612,288 trained parameters ("about 5% of the total 3.8 billion"), Phi-3-medium 389,784,576
("about 2.7% of the total 14 billion"), with LoRA r=64 on o_proj, qkv_proj, gate_up_proj, down_proj, lm_head.

Finding: LoRA alone on those modules is 102,912,000 (mini) and 225,202,176 (medium). The paper's numbers are exactly
LoRA + the input embedding matrix + every RMSNorm weight, i.e. the paper counted the parameters left unquantized and
not frozen (embeddings, norms) as trainable as well. Both readings are recorded in train_stats.json
(trainable_params, trainable_params_paper_convention).
"""

from __future__ import annotations

import pytest

from claimbench.models.lora import lora_param_count

LORA = {"r": 64, "alpha": 16, "dropout": 0.1, "target_modules": "auto"}


def _phi3(size: str):
    from transformers import Phi3Config

    if size == "mini":  # Phi-3-mini-128k-instruct
        return Phi3Config(hidden_size=3072, intermediate_size=8192, num_hidden_layers=32, num_attention_heads=32,
                          num_key_value_heads=32, vocab_size=32064)
    # Phi-3-medium-128k-instruct: grouped-query attention, 10 key/value heads of 128
    return Phi3Config(hidden_size=5120, intermediate_size=17920, num_hidden_layers=40, num_attention_heads=40,
                      num_key_value_heads=10, vocab_size=32064)


def _by_hand(hidden, inter, layers, kv_width, vocab, r=64):
    """r * (in + out) for each adapted linear layer."""
    qkv = hidden + (hidden + 2 * kv_width)
    o = hidden + hidden
    gate_up = hidden + 2 * inter
    down = inter + hidden
    return r * (layers * (qkv + o + gate_up + down) + (hidden + vocab))


@pytest.mark.parametrize(
    "size, lora, embeddings, norms, paper, total",
    [
        # mini: LoRA 3,145,728 per layer x 32 + 2,248,704 (lm_head); embeddings 32064 x 3072; norms (2 x 32 + 1) x 3072
        ("mini", _by_hand(3072, 8192, 32, 3072, 32064), 98_500_608, 199_680, 201_612_288, 3_821_079_552),
        # medium: LoRA 5,570,560 per layer x 40 + 2,379,776; embeddings 32064 x 5120; norms (2 x 40 + 1) x 5120
        ("medium", _by_hand(5120, 17920, 40, 1280, 32064), 164_167_680, 414_720, 389_784_576, 13_960_238_080),
    ],
)
def test_paper_trainable_parameter_counts(size, lora, embeddings, norms, paper, total):
    counts = lora_param_count(_phi3(size), LORA)
    assert counts["target_modules"] == ["down_proj", "gate_up_proj", "lm_head", "o_proj", "qkv_proj"]
    assert counts["lora"] == lora == {"mini": 102_912_000, "medium": 225_202_176}[size]
    assert (counts["embeddings"], counts["norms"], counts["total"]) == (embeddings, norms, total)
    # the paper's figure, reproduced exactly as LoRA + embeddings + norms
    assert counts["paper_convention"] == paper
    # the paper's shares: "about 5%" of 3.8B and "about 2.7%" of 14B (LoRA alone would be 2.7% and 1.6%)
    share = counts["paper_convention"] / counts["total"]
    assert round(100 * share, 1) == {"mini": 5.3, "medium": 2.8}[size]
    assert round(100 * counts["lora"] / counts["total"], 1) == {"mini": 2.7, "medium": 1.6}[size]
