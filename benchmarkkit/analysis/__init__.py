"""Questions asked of scores: who are the peers, where does the city stand, what changed.

Every number a reader sees (a peer median, a rank "of N", a gap) is defined once here; the report,
the charts and ``compare`` read these definitions and never recompute them.
"""
