"""faspec: declarative, statistically decided claims about credit-assignment methods."""

__version__ = "0.1.0"


def __getattr__(name: str):  # lazy: `import faspec` must not import pandas
    if name == "load_results":
        from faspec.results import load_results

        return load_results
    raise AttributeError(f"module 'faspec' has no attribute {name!r}")
