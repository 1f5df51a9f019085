"""Paper 002: JSON claims with evidence, note-pair augmentation, hierarchical evaluation, retention."""
