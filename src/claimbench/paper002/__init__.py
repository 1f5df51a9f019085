"""Paper 002: evidence-linked synthetic charts, JSON claims with evidence, hierarchical ICD-10-CM evaluation."""
