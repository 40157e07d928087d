"""The composite chain on encoded data: a framework + a pipeline + observations → scores.

The engine is the only place that knows the order of the steps and how to run them fast; methods
come from the registry and tell the engine, by declaration, what it may assume about them. See
``score.py``'s opening essay for why the layout is integer-coded and dense.
"""
