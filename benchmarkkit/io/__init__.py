"""Files ⇄ canonical frames: read, map, validate, load, export; catalogs and frameworks from disk.

Everything a user hands us arrives here and leaves as the long observations table of
``columns.py`` plus the rejected rows (errors are data: a frame, never a print). Nothing here
scores; the engine above never reads a file.
"""
