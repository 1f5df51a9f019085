"""Code-querying benchmark (paper 003): give a model a code's description, ask for the code, score the answer.

Modules, in pipeline order: ``systems`` (the three code systems and how codes are read out of text), ``sample`` (a
seeded sample of codes and descriptions), ``prompt`` (the paper's prompt), ``trie`` (constrained decoding),
``generate`` (seeded sampling with a local model), ``metrics`` (the paper's scores with 95% CIs), ``tables``.
"""
