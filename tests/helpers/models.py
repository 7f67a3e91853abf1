"""Tiny model folders built on the spot, for tests of code that loads a model: no download, random weights."""

from __future__ import annotations

from pathlib import Path

from rag.embedding.sentence_transformer import packaged_model_path

NLI_LABELS = {0: "contradiction", 1: "entailment", 2: "neutral"}


def tiny_cross_encoder(folder: Path, labels: int = 3, bias: float | None = None) -> Path:
    """A one-layer BERT sequence classifier in ``folder`` (the packaged model's tokenizer, random weights seeded 0):
    three labels named as an NLI head's, or one output. ``bias`` sets every output's bias and zeroes its weights,
    so every pair gets that logit."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(str(packaged_model_path()))
    tokenizer.save_pretrained(str(folder))
    names = NLI_LABELS if labels == 3 else {i: f"LABEL_{i}" for i in range(labels)}
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=labels, id2label=names,
                        label2id={name: i for i, name in names.items()})
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    if bias is not None:
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.fill_(bias)
    model.save_pretrained(str(folder))
    return folder
