"""A peer rule in one file: ``climate:D`` keeps cities whose warmest month is within D °C of the
city's own — peers that face the same summers (heat plans, cooling demand).

Load it with ``benchmarkkit --plugin climate_peers.py compare --peers climate:2+size:3``: the host
splits the spec at ``+`` and intersects, so this rule combines with the built-in ``size:3``.
"""

from __future__ import annotations

import polars as pl

from benchmarkkit import InputError, PeerQuery, PeerRule, hookimpl


def within(query: PeerQuery) -> pl.Expr:
    try:
        degrees = float(query.value)
    except ValueError:
        raise InputError(f"climate:{query.value} needs degrees", hint="e.g. climate:2") from None
    own = query.city.get("temp_warmest_month")
    if own is None:
        raise InputError(
            f"{query.city['city_id']} has no temp_warmest_month", hint="use another peer rule"
        )
    return (pl.col("temp_warmest_month") - own).abs() <= degrees


@hookimpl
def register_peer_rules(register):
    register(
        PeerRule(
            "climate",
            filter=within,
            summary="warmest month within D °C of the city's",
            example="climate:D",
        )
    )
