"""ClaimBench: the library behind the Snakemake workflow. Every computation lives here, importable and tested."""

__version__ = "0.1.0"
