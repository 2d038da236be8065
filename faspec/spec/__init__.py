"""The spec language: schema.json, the loader (load.py: the public entry; build.py: experiments,
methods, sweeps, stats; build_claims.py: claims and their located checks), the claim grammar
(expr.py, with its tokenizer in expr_tokens.py) and the loaded dataclasses (model.py) that plan
and check consume."""
