"""Evaluation of generated claims (paper 000, Evaluation; Table 2, Figure 3): parsing, code validity, case-level
metrics, structure metrics, bootstrap, and the report tables."""
