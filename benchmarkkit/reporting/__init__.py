"""The last stage: frames → Altair charts → sections → one self-contained HTML file.

The only layer that imports Altair, so commands that do not draw start fast.
"""
