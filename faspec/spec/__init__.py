"""The spec language: schema.json, the loader (load.py), the claim grammar (expr.py) and the
loaded dataclasses (model.py) that plan and check consume."""
