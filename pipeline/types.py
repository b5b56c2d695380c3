"""Names the pipeline shares with the CLI and the studio without importing its decoding code.

The pair, the tasks and a pair's key live in ``db.types`` (the data model at the bottom).
"""

#: Teacher-decoding backends (``pipeline.backends``); auto = ctranslate2 on CPU, vllm on CUDA, else torch.
BACKENDS = ("auto", "torch", "ctranslate2", "vllm")
