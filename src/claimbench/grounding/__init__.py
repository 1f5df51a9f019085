"""Description-grounded coding (beyond paper 000; paper 002's answer to invented codes).

A model, or the note itself, says *what* was diagnosed and done in words; the words are matched against the
descriptions of the codes valid for the encounter (ICD-10-CM of its fiscal year, the CPT catalog of its year) by
all-MiniLM-L6-v2 similarity, so every code written is a valid one. Paper 002 writes "descriptions rather than raw CPT
codes, which are prone to hallucination" and recommends separating understanding from code selection.

- ``codeset_index``: the code sets' descriptions, each distinct one embedded once across years, per-year validity
  as masks (rule ``codeset_index``'s cached output).
- ``resolve``: description text -> the top-k valid codes for a year.
- ``describe``: the description task of the fine-tuned configuration (prompt kind ``describe``): its training
  target, and its answer resolved to a claim in the paper's layout.
- ``reference``: the no-language-model reference: the note's own lines matched to the code sets.
- ``copying``: how often a configuration's CPT codes are its first example claim's, and whether a description
  names the right operation.
"""
