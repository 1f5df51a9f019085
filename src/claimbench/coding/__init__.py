"""Coding new operative notes with a trained configuration of a finished run, offline (``claimbench code`` and rule
code_notes): the notes validated as an extract is, each note predicted exactly as rule predict predicts a test note,
and a claims file (JSONL, CSV, an HTML page for review) with a provenance record.

``claimbench.coding.notes.code_notes`` is the one entry point; ``run`` finds a configuration's artefacts in the run,
``claims`` reads each answer into a claim with descriptions and validity, ``page`` lays the claims out for a coder.
"""
