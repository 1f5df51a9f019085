# Retrieval (paper 000, Methods: RAG System Design): all-MiniLM-L6-v2 embeddings of the training notes, a FAISS flat
# L2 index, and each test note's nearest training notes. Used by the rag and knn configurations (rules/predict.smk).
# Library: claimbench.retrieval.
from claimbench.plan.predict import lexical_neighbour_count

RETRIEVAL = f"{RESULTS}/retrieval"


rule embed_train_notes:
    input:
        train=LAYOUT.split("train"),
    output:
        embeddings=f"{RETRIEVAL}/train_embeddings.npz",
    params:
        embedder=config["retrieval"].get("embedder"),
        batch_size=config["retrieval"].get("batch_size", 32),
    log:
        f"{LOGS}/retrieval/embed_train_notes.log",
    benchmark:
        f"{BENCH}/retrieval/embed_train_notes.tsv"
    conda:
        CPU_ENV
    threads: 1  # as every retrieval job: a 2-thread job would wait for both cores while fine-tuning holds one
    priority: scheduling.START  # on the longest chain: embed -> finetune_neighbours -> finetune ft-mini+lexicon
    resources:
        mem_mb=3000,
    script:
        "../scripts/retrieval_embed.py"


rule faiss_index:
    input:
        embeddings=rules.embed_train_notes.output.embeddings,
    output:
        index=f"{RETRIEVAL}/train.faiss",
    log:
        f"{LOGS}/retrieval/faiss_index.log",
    benchmark:
        f"{BENCH}/retrieval/faiss_index.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=2000,
    priority: scheduling.TUNING
    script:
        "../scripts/retrieval_index.py"


rule retrieval_neighbours:
    input:
        test=LAYOUT.split("test"),
        index=rules.faiss_index.output.index,
        embeddings=rules.embed_train_notes.output.embeddings,
    output:
        neighbours=LAYOUT.neighbours("test"),
    params:
        embedder=config["retrieval"].get("embedder"),
        batch_size=config["retrieval"].get("batch_size", 32),
        k=config["retrieval"].get("k", 2),
        # only the test cases the predict stage answers (the same seeded sample) are searched
        n_test_cases=config.get("predict", {}).get("n_test_cases"),
        seed=config["seed"],
    log:
        f"{LOGS}/retrieval/retrieval_neighbours.log",
    benchmark:
        f"{BENCH}/retrieval/retrieval_neighbours.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=3000,
    priority: scheduling.TUNING
    script:
        "../scripts/retrieval_neighbours.py"


REPORT_INPUTS["retrieval_neighbours"] = rules.retrieval_neighbours.output.neighbours


rule finetune_neighbours:
    """Neighbours for retrieval-augmented fine-tuning (beyond the paper): each training note's k nearest *other*
    training notes, and each validation note's k nearest training notes (for validation-based selection). Never the
    test split."""
    input:
        train=LAYOUT.split("train"),
        validation=LAYOUT.split("validation"),
        embeddings=rules.embed_train_notes.output.embeddings,
    output:
        neighbours=LAYOUT.neighbours("finetune"),
    params:
        embedder=config["retrieval"].get("embedder"),
        batch_size=config["retrieval"].get("batch_size", 32),
        k=config["retrieval"].get("k", 2),
    log:
        f"{LOGS}/retrieval/finetune_neighbours.log",
    benchmark:
        f"{BENCH}/retrieval/finetune_neighbours.tsv"
    conda:
        CPU_ENV
    threads: 1
    priority: scheduling.START  # on the longest chain (fine-tuning ft-mini+lexicon)
    resources:
        mem_mb=3000,
    script:
        "../scripts/retrieval_finetune_neighbours.py"


# Code hints (beyond the paper) for prompt kind rag_lexicon: the training split's ICD-10-CM lexicon and the closest CPT
# catalog descriptions (claimbench.lexicon), one block per note: the test cases for predict, the training and
# validation notes for fine-tuning and decoding choices (never the test split there).
CODE_HINTS_PARAMS = dict(
    embedder=config["retrieval"].get("embedder"),
    batch_size=config["retrieval"].get("batch_size", 32),
    cpt_hints=config["retrieval"].get("cpt_hints", 0),  # off unless set (config.yaml says why)
    cpt_catalog=(config.get("codesets") or {}).get("cpt_catalog"),
    side_hints=config["retrieval"]["side_hints"],
    icd10cm_files=(config.get("codesets") or {}).get("icd10cm_files") or {},
)


rule code_hints:
    input:
        train=LAYOUT.split("train"),
        queries=[LAYOUT.split("test")],
    output:
        hints=LAYOUT.code_hints("test"),
    params:
        **CODE_HINTS_PARAMS,
        lexical_k=[lexical_neighbour_count(config["retrieval"], "hint_neighbours")],  # per query file
    log:
        f"{LOGS}/retrieval/code_hints.log",
    benchmark:
        f"{BENCH}/retrieval/code_hints.tsv"
    conda:
        CPU_ENV
    threads: 1
    resources:
        mem_mb=3000,
    priority: scheduling.TUNING
    script:
        "../scripts/retrieval_code_hints.py"


rule finetune_code_hints:
    input:
        train=LAYOUT.split("train"),
        queries=[LAYOUT.split("train"), LAYOUT.split("validation")],
    output:
        hints=LAYOUT.code_hints("finetune"),
    params:
        **CODE_HINTS_PARAMS,
        # training notes: the prompts fine-tuning learns from; validation notes: answered as test notes are
        lexical_k=[
            lexical_neighbour_count(config["retrieval"], "training_hint_neighbours"),
            lexical_neighbour_count(config["retrieval"], "hint_neighbours"),
        ],
    log:
        f"{LOGS}/retrieval/finetune_code_hints.log",
    benchmark:
        f"{BENCH}/retrieval/finetune_code_hints.tsv"
    conda:
        CPU_ENV
    threads: 1
    priority: scheduling.START  # on the longest chain (fine-tuning ft-mini+lexicon)
    resources:
        mem_mb=3000,
    script:
        "../scripts/retrieval_code_hints.py"
