"""Methods: the composite-indicator steps as Polars expressions (COINr's method set).

Each file is one kind of method (normalise, impute, treat, aggregate, denominate) and ends in the
``@hookimpl`` that registers its built-ins, exactly as a third party's method plugin would: the
engine never imports a built-in by name, it asks the registry. What a method may tell the engine
about itself (its domain, the per-indicator parameters it reads, whether a dense fast path is
valid) lives in ``spec.py``, so a plugin method that declares the same gets the same treatment.
Layer: above the ground floor (errors, columns, hookspecs), below io, engine and everything else.
"""
