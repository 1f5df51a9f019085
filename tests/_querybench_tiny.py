"""A tiny character-level tokenizer and random Llama for the query-benchmark tests (no files, no downloads)."""

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast


def tiny_tokenizer():
    # single characters plus merged pieces that straddle code boundaries (" E1", "11.", "9\n" must never be usable)
    chars = list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:- abcde")
    pieces = [" E1", " I8", "11.", ".9", "409", " 27", "447", "9\n", "\n", " ", "Code", "X.Y", "e11"]
    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2}
    for piece in chars + pieces:
        vocab.setdefault(piece, len(vocab))
    # text is encoded character by character; the merged pieces exist only for the model to sample
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="<unk>", continuing_subword_prefix="", max_input_chars_per_word=100))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tok.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")


def tiny_model(vocab_size, seed=0):
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=128, pad_token_id=0, eos_token_id=1, bos_token_id=1,
    )
    return LlamaForCausalLM(config).eval()
