"""The yearly report's sections, registered like any plugin's (``register_report_sections``).

Each section turns the report context into an HTML fragment. Fixed texts come from the language
files in ``lang/`` (a new language is a new file); every text from data is escaped.
"""

from __future__ import annotations

import re
import tomllib
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import polars as pl

from benchmarkkit import hookimpl
from benchmarkkit.errors import InputError, did_you_mean
from benchmarkkit.reporting.sections import Language, ReportContext, ReportSection, esc

if TYPE_CHECKING:
    from benchmarkkit.hookspecs import Register


def languages() -> list[str]:
    return sorted(
        p.name.removesuffix(".toml")
        for p in (files(__name__) / "lang").iterdir()
        if p.name.endswith(".toml") and "." not in p.name.removesuffix(".toml")
    )


def _toml(path: str) -> dict[str, Any]:
    node = files(__name__).joinpath(*path.split("/"))
    return tomllib.loads(node.read_text(encoding="utf-8")) if node.is_file() else {}


def load_language(code: str) -> Language:
    """A report language from ``lang/<code>.toml`` (texts, number format, chart texts) and
    ``lang/<code>.catalog.toml`` (indicator names and units); what a file lacks is English."""
    available = languages()
    if code not in available:
        raise InputError(
            f"no report language '{code}'",
            hint=did_you_mean(code, available) or f"languages: {', '.join(available)}",
        )
    data = _toml(f"lang/{code}.toml")
    base = _toml("lang/en.toml")
    texts = {**base["text"], **data.get("text", {})}
    chart = {**base.get("chart", {}), **data.get("chart", {})}
    translated = _toml(f"lang/{code}.catalog.toml")
    fmt = data.get("format", {})
    return Language(
        code,
        texts,
        fmt.get("decimal", "."),
        fmt.get("thousands", ","),
        chart=chart,
        catalog=translated.get("indicator", {}),
        units=translated.get("unit", {}),
        time=data.get("time", {}),
    )


def _rows(frame: pl.DataFrame | None) -> list[dict[str, Any]]:
    return [] if frame is None else frame.to_dicts()


def _top(ctx: ReportContext) -> list[dict[str, Any]]:
    summary = ctx.comparison.summary
    return _rows(
        summary.filter(pl.col("level") == pl.col("level").max().over("scorer")).sort("scorer")
    )


def _city_names(ctx: ReportContext, ids: list[str]) -> dict[str, str]:
    if ctx.cities is None:
        return {i: i for i in ids}
    rows = ctx.cities.filter(pl.col("city_id").is_in(ids)).select("city_id", "city_name").rows()
    names = {i: (n or i) for i, n in rows}
    return {i: names.get(i, i) for i in ids}


def _gap_words(lang: Language, gap: float | None) -> str:
    """The gap to the peer median said in words, in the direction of better."""
    if gap is None:
        return ""
    if abs(gap) < 0.05:
        return lang.t("gap_level")
    key = "gap_better" if gap > 0 else "gap_worse"
    return lang.t(key, gap=lang.num(abs(gap)))


def change_words(ctx: ReportContext, row: dict[str, Any]) -> tuple[str, str]:
    """The like-for-like change of one summary row in words, and its CSS class."""
    t, n = ctx.lang.t, ctx.lang.num
    prev = ctx.previous_year
    if prev is None:
        return t("change_none"), "flat"
    if not row.get("comparable"):
        return t("change_not_comparable", prev=prev), "flat"
    basis = t("basis", n=row["change_basis"], total=row["n_indicators"])
    change = row["change"]
    if abs(change) < 0.05:
        text, cls = t("change_flat", prev=prev, basis=basis), "flat"
    elif change > 0:
        text, cls = t("change_up", delta=n(change), prev=prev, basis=basis), "up"
    else:
        text, cls = t("change_down", delta=n(-change), prev=prev, basis=basis), "down"
    k = row.get("rank_change")
    if k:
        key = ("rank_up" if k > 0 else "rank_down") + ("_one" if abs(k) == 1 else "")
        text += " " + t(key, k=abs(k), m=row["basis_n_peers"])
    return text, cls


def status_words(ctx: ReportContext, row: dict[str, Any]) -> str:
    """Why an index has no rank (withheld, too few peers, not scored), in words."""
    return ctx.lang.t(
        f"status_{row['status'].replace(' ', '_')}",
        k=ctx.comparison.min_peers,
        have=row["n_peers"],
        peers=len(ctx.peers) - 1,
        year=ctx.year,
        present=row["n_present"],
        total=row["n_indicators"],
    )


def index_sentence(ctx: ReportContext, row: dict[str, Any]) -> str:
    """One sentence per index for the first page: where the city stands, against whom."""
    t, n = ctx.lang.t, ctx.lang.num
    name = ctx.lang.index_name(row["scorer"], ctx.titles.get(row["scorer"]))
    if row["status"] != "ok":
        return status_words(ctx, row)
    return t(
        "sentence",
        city=ctx.city_name,
        index=name,
        score=n(row["score"]),
        rank=row["rank"],
        n=row["n_ranked"],
        gap=_gap_words(ctx.lang, row["gap_to_median"]),
        median=n(row["peer_median"]),
        peers=row["n_peers"],
    )


def headline(ctx: ReportContext) -> str:
    if not ctx.comparison.scored:
        return unscored_first_page(ctx)
    t, n = ctx.lang.t, ctx.lang.num
    ranges = _rank_ranges(ctx)
    cards = []
    for row in _top(ctx):
        name = esc(ctx.lang.index_name(row["scorer"], ctx.titles.get(row["scorer"])))
        change, cls = change_words(ctx, row)
        coverage = (
            t("coverage_of", present=row["n_present"], total=row["n_indicators"])
            if row["n_present"]
            else ""
        )
        if row["status"] == "ok":
            rank = (
                t("rank_of_tied", rank=row["rank"], n=row["n_ranked"], k=row["n_tied"])
                if row.get("n_tied")
                else t("rank_of", rank=row["rank"], n=row["n_ranked"])
            )
            score = n(row["score"])
        elif row["status"] == "too few peers":
            rank, score = t("no_rank"), n(row["score"])
        else:
            rank, score, change, cls = t("withheld"), "–", "", "flat"
        cards.append(
            f'<div class="card" data-scorer="{esc(row["scorer"])}">'
            f'<div class="label">{name}</div>'
            f'<div class="score">{score}</div><div class="rank">{rank}</div>'
            f'<p class="sentence">{index_sentence(ctx, row)}</p>'
            + (
                f'<p class="note range">{esc(ranges[row["scorer"]])}</p>'
                if row["status"] == "ok" and row["scorer"] in ranges
                else ""
            )
            + (f'<p class="{cls}">{change}</p>' if change else "")
            + (f'<p class="note">{coverage}</p>' if coverage else "")
            + "</div>"
        )
    peers = [p for p in ctx.peers if p != ctx.city_id]
    names = _city_names(ctx, peers)
    shown = ", ".join(esc(names[p]) for p in peers[:12])
    more = t("and_more", n=len(peers) - 12) if len(peers) > 12 else ""
    return (
        '<div class="first-page">'
        f"<h1>{t('report_title', city=ctx.city_name, year=ctx.year)}</h1>"
        f'<p class="lead">{t("lead", n=len(peers), spec=ctx.peer_spec)} '
        f"{t('scale_note')}</p>"
        f'<p class="peers"><strong>{t("peers_named")}</strong> {shown}{more}</p>'
        f'<h2>{t("headline")}</h2><div class="cards">{"".join(cards)}</div>'
        f"{_top_levers(ctx)}</div>"
    )


def _rank_ranges(ctx: ReportContext) -> dict[str, str]:
    """Scorer → the card's line on how sure the rank is, when the report was made with a
    sensitivity analysis (``report --uncertainty N``): the sentence of the "How sure is this
    rank?" section, one definition for both."""
    if not ctx.uncertainty:
        return {}
    from benchmarkkit_reports.uncertainty import rank_sentences

    return rank_sentences(ctx)


def _top_levers(ctx: ReportContext) -> str:
    t, n = ctx.lang.t, ctx.lang.num
    levers = ctx.comparison.levers
    if levers is None or levers.height == 0:
        return f"<h2>{t('top_levers')}</h2><p>{_no_levers(ctx, 'no_levers_first')}</p>"
    top = (
        levers.sort(["gain", "scorer", "indicator"], descending=[True, False, False])
        .unique("indicator", keep="first", maintain_order=True)
        .head(3)
    )
    items = []
    for r in _rows(top):
        name, unit = ctx.lang.indicator(r["indicator"], r["name"], r["unit"])
        items.append(
            "<li>"
            + t(
                "lever_item",
                indicator=name,
                value=n(r["value"], 2),
                target=n(r["target"], 2),
                unit=unit,
                gain=n(r["gain"]),
                index=ctx.lang.index_name(r["scorer"], ctx.titles.get(r["scorer"])),
            )
            + "</li>"
        )
    return f'<h2>{t("top_levers")}</h2><ol class="levers">{"".join(items)}</ol>'


def _no_levers(ctx: ReportContext, key: str) -> str:
    """Why there is no lever: every indicator at the median, or no index with a standing
    (withheld or too few peers) — never the first when it is the second."""
    if any(row["status"] == "ok" for row in _top(ctx)):
        return ctx.lang.t(key)
    return ctx.lang.t("no_levers_no_standing")


# ------------------------------------------------------------------------------------------
# a city with data but no index score: what the data can and cannot say, and what it needs


UNSCORED_CSS = """
.unscored .notice { background: var(--card); border-left: 4px solid var(--city);
  padding: 10px 14px; margin: 8px 0 0; }
.unscored pre.commands { background: var(--card); padding: 8px 12px; margin: 4px 0 0;
  font-size: .85rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.unscored h2 { margin-top: 24px; }
.unscored table { margin-bottom: 4px; }
.unscored .card .score { font-size: 1.8rem; margin-right: .3em; }
@media print {
  .unscored h2 { margin: 14px 0 6px; padding-bottom: 3px; }
  .unscored .card { padding: 8px 10px; }
  .unscored .card p { font-size: .85rem; margin-top: 4px; }
  .unscored .card .score { font-size: 1.3rem; }
  .unscored .card .rank { line-height: 1.3; }
  .unscored pre.commands { font-size: .75rem; }
  .unscored .notice { padding: 6px 10px; }
  .unscored table { font-size: .85rem; line-height: 1.25; }
  .unscored th, .unscored td { padding: 3px 6px; }
  .unscored p, .unscored .notice { line-height: 1.35; }
  .unscored table.needed code { display: none; }  /* ids: for the screen and the sheet */
}
"""
"""The first page of a city without a score, styled here and sent only with that page, so that
every other report keeps its bytes (style.css is inlined into each)."""


def unscored_first_page(ctx: ReportContext) -> str:
    """The first page of a city that has data but no index score in any year: which indices
    the data can support for it (none) and why, where its peers stand, what the data do hold
    for it, and which indicators it would need to report — with the command that makes the
    data-entry sheet. Nothing is estimated for the city."""
    t = ctx.lang.t
    peers = [p for p in ctx.peers if p != ctx.city_id]
    names = _city_names(ctx, peers)
    shown = ", ".join(esc(names[p]) for p in peers[:12])
    more = t("and_more", n=len(peers) - 12) if len(peers) > 12 else ""
    cards = "".join(_unscored_card(ctx, row) for row in _top(ctx)) + "".join(
        _not_in_data_card(ctx, scorer, title) for scorer, title in ctx.not_in_data.items()
    )
    return (
        f'<div class="first-page unscored"><style>{UNSCORED_CSS}</style>'
        f"<h1>{t('report_title', city=ctx.city_name, year=ctx.year)}</h1>"
        f'<p class="lead">{t("lead", n=len(peers), spec=ctx.peer_spec)} '
        f"{t('scale_note')}</p>"
        f'<p class="peers"><strong>{t("peers_named")}</strong> {shown}{more}</p>'
        f'<div class="notice"><strong>{t("unscored_title", city=ctx.city_name)}</strong> '
        f"{t('unscored_lead', city=ctx.city_name)}</div>"
        f'<h2>{t("unscored_headline")}</h2><div class="cards">{cards}</div>'
        f"{_context_table(ctx)}{_needed(ctx)}</div>"
    )


def _unscored_card(ctx: ReportContext, row: dict[str, Any]) -> str:
    """One index: the city's coverage and what a score needs, then where the peers stand."""
    t, n = ctx.lang.t, ctx.lang.num
    scorer = row["scorer"]
    group = ctx.comparison.group.filter(
        (pl.col("scorer") == scorer)
        & (pl.col("node") == row["node"])
        & (pl.col("city_id") != ctx.city_id)
        & pl.col("score").is_not_null()
    ).sort(["score", "city_id"], descending=[True, False])
    peers = len(ctx.peers) - 1
    if row["peer_median"] is None or group.height == 0:
        stand = t(
            "peers_stand_few",
            n=row["n_peers"],
            peers=peers,
            year=ctx.year,
            k=ctx.comparison.min_peers,
        )
    else:
        best = _city_names(ctx, [group["city_id"][0]])[group["city_id"][0]]
        stand = t(
            "peers_stand",
            n=row["n_peers"],
            peers=peers,
            median=n(row["peer_median"]),
            low=n(group["score"].min()),
            high=n(group["score"].max()),
            best=best,
        )
    return (
        f'<div class="card" data-scorer="{esc(scorer)}">'
        f'<div class="label">{esc(ctx.lang.index_name(scorer, ctx.titles.get(scorer)))}</div>'
        f'<div class="rank"><span class="score">–</span> {t("not_scored_short")}</div>'
        f'<p class="sentence">'
        + t(
            "unscored_card",
            city=ctx.city_name,
            present=row["n_present"],
            total=row["n_indicators"],
            year=ctx.year,
            needed=ctx.comparison.needed.get(scorer, 1),
        )
        + f'</p><p class="note">{stand}</p></div>'
    )


def _not_in_data_card(ctx: ReportContext, scorer: str, title: str) -> str:
    """An index no city can have on these data: none of its indicators is in them."""
    t = ctx.lang.t
    catalog = ctx.catalog
    size = (
        catalog.filter(pl.col("indices").list.contains(scorer)).height
        if catalog is not None and catalog.schema.get("indices") == pl.List(pl.String)
        else 0
    )
    said = t("not_in_data" if size else "not_in_data_any", n=size, scorer=scorer)
    return (
        f'<div class="card" data-scorer="{esc(scorer)}">'
        f'<div class="label">{esc(ctx.lang.index_name(scorer, title))}</div>'
        f'<div class="rank"><span class="score">–</span> {t("not_in_data_short")}</div>'
        f'<p class="sentence">{said}</p></div>'
    )


def _context_table(ctx: ReportContext) -> str:
    """What the data hold for the city this year outside every index, beside its peers; below,
    the file and row every value came from and what its flags say (a projection …)."""
    t, n = ctx.lang.t, ctx.lang.num
    rows = _rows(ctx.comparison.context)
    if not rows:
        return ""
    body, sources, flags = [], [], []
    for r in rows:
        name, unit = ctx.lang.indicator(r["indicator"], r["name"], r["unit"])
        digits = 0 if abs(r["value"]) >= 1000 else 1
        spread = (
            f"{n(r['peer_low'], digits)} – {n(r['peer_high'], digits)}"
            if r["peer_low"] is not None
            else "–"
        )
        body.append(
            f'<tr><td>{esc(name)}</td><td class="num">{n(r["value"], digits)}</td>'
            f'<td>{esc(unit) or "–"}</td><td class="num">{n(r["peer_median"], digits)}</td>'
            f'<td class="num">{spread}</td></tr>'
        )
        if r["source"]:
            line = f":{r['row']}" if r["row"] is not None else ""
            sources.append(f"<code>{esc(r['source'])}{line}</code>")
        flags += [f for f in (r["flag"] or "").split(",") if f"flag_{f}" in ctx.lang.texts]
    head = (
        f'<tr><th>{t("col_indicator")}</th><th class="num">{esc(ctx.city_name)}</th>'
        f'<th>{t("col_unit")}</th><th class="num">{t("col_median")}</th>'
        f'<th class="num">{t("col_range")}</th></tr>'
    )
    said = "; ".join(t(f"flag_{f}") for f in dict.fromkeys(flags))
    k = ctx.comparison.min_peers
    few = f" {t('context_few', k=k)}" if any(r["n_peers"] < k for r in rows) else ""
    where = (
        f"{t('context_source')} {', '.join(dict.fromkeys(sources))}"
        + (f" ({said})." if said else ".")
        if sources
        else ""
    )
    return (
        f"<h2>{t('context_title', city=ctx.city_name, year=ctx.year)}</h2>"
        f'<table class="context">{head}{"".join(body)}</table>'
        f'<p class="note">{t("context_explain")}{few} {where}</p>'
    )


def _needed(ctx: ReportContext) -> str:
    """Per index, the indicators the city does not report with how many peers do, and the
    ``benchmarkkit template`` command that makes the data-entry sheet for exactly those."""
    t, n = ctx.lang.t, ctx.lang.num
    frame = ctx.comparison.indicators.filter(pl.col("value").is_null())
    if frame.height == 0:
        return ""
    parts = [f"<h2>{t('needed_title', city=ctx.city_name)}</h2>"]
    for scorer in frame["scorer"].unique(maintain_order=True).to_list():
        mine = frame.filter(pl.col("scorer") == scorer)
        top = [r for r in _top(ctx) if r["scorer"] == scorer]
        total = (top[0]["n_indicators"] if top else None) or mine.height
        items = []
        for r in _rows(mine):
            name, unit = ctx.lang.indicator(r["indicator"], r["name"], r["unit"])
            items.append(
                f"<tr><td>{esc(name)} <code>{esc(r['indicator'])}</code></td>"
                f'<td>{esc(unit) or "–"}</td><td class="num">{r["n_peers"]}</td>'
                f'<td class="num">{n(r["peer_median"], 2)}</td></tr>'
            )
        parts.append(
            "<p>"
            + t(
                "needed_text",
                city=ctx.city_name,
                index=ctx.lang.index_name(scorer, ctx.titles.get(scorer)),
                needed=ctx.comparison.needed.get(scorer, 1),
                total=total,
                year=ctx.year,
            )
            + "</p>"
            f'<table class="needed"><tr><th>{t("col_indicator")}</th><th>{t("col_unit")}</th>'
            f'<th class="num">{t("col_reported_by")}</th><th class="num">{t("col_median")}'
            f"</th></tr>{''.join(items)}</table>"
        )
    template, again = _commands(ctx, frame["indicator"].unique(maintain_order=True).to_list())
    parts.append(
        f"<p>{t('template_text', city=ctx.city_name)}</p>"
        f'<pre class="commands"><code>{esc(template)}\n{esc(again)}</code></pre>'
    )
    return "".join(parts)


def _commands(ctx: ReportContext, indicators: list[str]) -> tuple[str, str]:
    """``benchmarkkit template`` for the city, its year and the missing indicators (their
    indicator set when they share one, else each by id), in the report's language; and the
    ``benchmarkkit report`` that reads the filled sheet beside the same data."""
    import shlex

    q = shlex.quote
    name = re.sub(r"\s*\(.*\)$", "", ctx.city_name)  # "Da Nang (Đà Nẵng)" → "Da Nang"
    sheet = f"{_slug(name) or _slug(ctx.city_id) or 'city'}.xlsx"
    sets: set[str] = set()
    if ctx.catalog is not None and "set" in ctx.catalog.columns:
        sets = set(ctx.catalog.filter(pl.col("id").is_in(indicators))["set"].to_list())
    which = (
        ["--set", next(iter(sets))]
        if len(sets) == 1 and None not in sets
        else [a for i in indicators for a in ("--indicator", i)]
    )
    template = [
        "benchmarkkit",
        "template",
        *which,
        "--city",
        ctx.city_id,
        "--year",
        str(ctx.year),
        "--lang",
        ctx.lang.code,
        "--out",
        sheet,
    ]
    data = ["--dataset", ctx.dataset] if ctx.dataset else []
    report = [
        "benchmarkkit",
        "report",
        *ctx.sources,
        sheet,
        *data,
        "--city",
        ctx.city_id,
        "--peers",
        ctx.peer_spec,
        "--lang",
        ctx.lang.code,
    ]
    return " ".join(q(a) for a in template), " ".join(q(a) for a in report)


def _slug(text: str) -> str:
    """``Da Nang`` → ``da-nang``: a file name anyone can type (accents dropped)."""
    import re
    import unicodedata

    text = text.replace("Đ", "D").replace("đ", "d")  # a letter of its own, not D + a mark
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:40]


def profile(ctx: ReportContext) -> str:
    t, n = ctx.lang.t, ctx.lang.num
    areas = ctx.comparison.summary.filter(pl.col("level") < pl.col("level").max().over("scorer"))
    rows = []
    for r in _rows(areas.sort("scorer", "node")):
        rank = t("rank_short", rank=r["rank"], n=r["n_ranked"]) if r["rank"] else "–"
        rows.append(
            f"<tr><td>{esc(ctx.lang.index_name(r['scorer'], ctx.titles.get(r['scorer'])))}</td>"
            f"<td>{esc(ctx.lang.node_name(r['node']))}</td>"
            f'<td class="num">{n(r["score"])}</td><td class="num">{rank}</td>'
            f'<td class="num">{n(r["peer_median"])}</td><td class="num">'
            f"{n(r['gap_to_median'], signed=True)}</td></tr>"
        )
    head = (
        f'<tr><th>{t("col_index")}</th><th>{t("col_focus")}</th><th class="num">'
        f'{t("col_score")}</th><th class="num">{t("col_rank")}</th><th class="num">'
        f'{t("col_median")}</th><th class="num">{t("col_gap")}</th></tr>'
    )
    return (
        f'<h2>{t("profile")}</h2><p class="note">{t("profile_explain")}</p>'
        f"{ctx.chart('heatmap')}<table>{head}{''.join(rows)}</table>"
    )


def charts(ctx: ReportContext) -> str:
    from benchmarkkit.reporting.charts import chart_form

    t = ctx.lang.t
    parts = [f"<h2>{t('charts')}</h2>"]
    # a ranking's form follows its number of peers (docs/charts.md); so does its caption
    ranked = {r["scorer"]: r["n_peers"] or 0 for r in _top(ctx)}
    for name in sorted(k for k in ctx.charts if k.startswith("ranking:")):
        scorer = name.split(":", 1)[1]
        index = ctx.lang.index_name(scorer, ctx.titles.get(scorer))
        few = chart_form(ranked.get(scorer, 0)) == "cities"
        if not ctx.comparison.scored:  # no city mark: say so rather than "the city is highlighted"
            key = "ranking_caption_unscored" if few else "ranking_many_unscored"
            parts.append(ctx.chart(name, t(key, index=index, city=ctx.city_name)))
            continue
        parts.append(ctx.chart(name, t("ranking_caption" if few else "ranking_many", index=index)))
    if not ctx.comparison.scored:  # no score, so no trend, no change and no history to draw
        parts.append(f'<p class="note">{t("unscored_no_trend", city=ctx.city_name)}</p>')
        return "".join(parts)
    parts.append(ctx.chart("trend", t("trend_caption")))
    parts.append(ctx.chart("slope", t("slope_caption")))
    parts.append(ctx.chart("history", t("history_caption")))
    return "".join(parts)


def indicators(ctx: ReportContext) -> str:
    t, n = ctx.lang.t, ctx.lang.num
    frame = ctx.comparison.indicators
    arrows = {"up": "▲", "down": "▼", "flat": "="}
    body = []
    rows = _rows(frame)
    for r in sorted(rows, key=lambda r: (r["scorer"], r["name"] or "")):
        trend = r.get("trend")
        cls = ("up" if r.get("trend_better") else "down") if trend in ("up", "down") else "flat"
        words = t(f"trend_{'flat' if cls == 'flat' else ('up' if cls == 'up' else 'down')}")
        mark = (
            f'<span class="{cls}" title="{esc(words)}">{arrows.get(trend, "")}</span>'
            if trend
            else "–"
        )
        name, unit = ctx.lang.indicator(r["indicator"], r["name"], r["unit"])
        shared = (
            f' <span class="note">{t("n_indices", n=r["n_indices"])}</span>'
            if (r.get("n_indices") or 1) > 1
            else ""
        )
        body.append(
            f"<tr><td>{esc(ctx.lang.index_name(r['scorer'], ctx.titles.get(r['scorer'])))}</td>"
            f"<td>{esc(name)}{shared}</td>"
            f'<td class="num">{n(r["value"], 2)}</td><td>{esc(unit) or "–"}</td>'
            f'<td class="num">{n(r["peer_median"], 2)}</td><td class="num">'
            f'{n(r["peer_best"], 2)}</td><td class="num">{n(r["gap_to_median"], 2, signed=True)}'
            f"</td><td>{mark}</td></tr>"
        )
    head = (
        f'<tr><th>{t("col_index")}</th><th>{t("col_indicator")}</th><th class="num">'
        f'{t("col_value")}</th><th>{t("col_unit")}</th><th class="num">{t("col_median")}'
        f'</th><th class="num">{t("col_best")}</th><th class="num">{t("col_gap")}</th>'
        f"<th>{t('col_trend')}</th></tr>"
    )
    legend = (
        f'<p class="note"><span class="up">▲▼</span> {t("trend_up")} · '
        f'<span class="down">▲▼</span> {t("trend_down")} · = {t("trend_flat")}</p>'
    )
    return (
        f'<h2>{t("indicators")}</h2><p class="note">{t("indicators_explain")}</p>'
        f"{ctx.chart('strip')}{legend}<table>{head}{''.join(body)}</table>"
    )


def _list(ctx: ReportContext, frame: pl.DataFrame | None) -> str:
    items = "".join(
        f"<li>{esc(ctx.lang.indicator(r['indicator'], r['name'], r['unit'])[0])} "
        f"({ctx.lang.t('rank_of', rank=r['rank'], n=r['n_ranked'])})</li>"
        for r in _rows(frame)
    )
    return f"<ul>{items}</ul>" if items else f"<p>{ctx.lang.t('none_listed')}</p>"


def levers(ctx: ReportContext) -> str:
    t, n = ctx.lang.t, ctx.lang.num
    comp = ctx.comparison
    out = [
        f"<h2>{t('strengths')} · {t('weaknesses')} · {t('levers')}</h2>",
        f'<p class="note">{t("strengths_explain", k=comp.min_peers)}</p>',
        f'<div class="grid2"><div><h3>{t("strengths")}</h3>{_list(ctx, comp.strengths)}</div>'
        f"<div><h3>{t('weaknesses')}</h3>{_list(ctx, comp.weaknesses)}</div></div>",
        f'<h3>{t("levers")}</h3><p class="note">{t("levers_explain")}</p>',
    ]
    rows = _rows(comp.levers)
    if not rows:
        out.append(f"<p>{_no_levers(ctx, 'no_levers')}</p>")
    else:
        head = (
            f'<tr><th>{t("col_index")}</th><th>{t("col_indicator")}</th><th class="num">'
            f'{t("col_value")}</th><th class="num">{t("col_target")}</th>'
            f'<th class="num">{t("col_gain")}</th></tr>'
        )
        body = "".join(
            f"<tr><td>{esc(ctx.lang.index_name(r['scorer'], ctx.titles.get(r['scorer'])))}</td>"
            f"<td>{esc(ctx.lang.indicator(r['indicator'], r['name'], r['unit'])[0])}</td>"
            f'<td class="num">{n(r["value"], 2)}</td><td class="num">{n(r["target"], 2)}</td>'
            f'<td class="num">{n(r["gain"], 2, signed=True)}</td></tr>'
            for r in rows
        )
        out.append(f"<table>{head}{body}</table>")
    return "".join(out)


def coverage(ctx: ReportContext) -> str:
    t = ctx.lang.t
    rejected = ctx.rejected
    parts = [
        f'<h2>{t("coverage")}</h2><p class="note">{t("coverage_explain")}</p>',
        ctx.chart("coverage"),
    ]
    if rejected is None or rejected.height == 0:
        parts.append(f"<p>{t('none_rejected')}</p>")
    else:
        parts.append(f"<p>{t('rejected', n=rejected.height)}</p><table>")
        for r in _rows(rejected.head(10)):
            parts.append(
                f'<tr><td><code>{esc(r["source"])}</code></td><td class="num">{esc(r["row"])}'
                f"</td><td><code>{esc(r['rule'])}</code></td><td>{esc(r['message'])}</td></tr>"
            )
        parts.append("</table>")
    return "".join(parts)


def _method_value(ctx: ReportContext, value: object) -> str:
    if value is None or str(value) in ("None", "", "–"):
        return ctx.lang.t("method_not_set")
    return f"<code>{esc(value)}</code>"


def methodology(ctx: ReportContext) -> str:
    t = ctx.lang.t
    audit = ctx.audit
    files_rows = "".join(
        f"<tr><td><code>{esc(f['name'])}</code></td><td><code>{esc(f['sha256'][:16])}</code>"
        "</td></tr>"
        for f in audit.get("files", [])
    )
    plugin_rows = "".join(
        f"<tr><td><code>{esc(p['name'])}</code></td><td><code>{esc(p['version'] or '–')}"
        f"</code></td><td><code>{esc(p['source'])}</code></td></tr>"
        for p in audit.get("plugins", [])
    )
    method_rows = []
    for key, value in audit.get("methods", {}).items():
        scorer, _, step = str(key).partition(": ")
        label = t(f"method_{step}") if f"method_{step}" in ctx.lang.texts else esc(step)
        index = ctx.lang.index_name(scorer, ctx.titles.get(scorer))
        method_rows.append(
            f"<tr><td>{esc(index)}</td><td>{label}</td><td>{_method_value(ctx, value)}</td></tr>"
        )
    generated = audit.get("generated")
    stamp = (
        f" · {t('generated')}: {esc(generated)}" if generated and generated not in ("–",) else ""
    )
    return (
        f"<h2>{t('methodology')}</h2><p>{t('methods_text')}</p>"
        f"<table>{''.join(method_rows)}</table>"
        f"<h3>{t('data_files')}</h3><table>{files_rows}</table>"
        f"<h3>{t('plugins_used')}</h3><table>{plugin_rows}</table>"
        f'<p class="note">{t("engine")}: <code>benchmarkkit {esc(audit.get("version"))}</code>'
        f"{stamp}</p>"
        f'<h3>{t("attribution")}</h3><p class="note">{t("attribution_note")}</p>'
        f'<blockquote class="note" lang="en">{esc(audit.get("attribution", ""))}</blockquote>'
    )


SECTIONS = (
    ReportSection("headline", 10, headline),
    ReportSection("profile", 20, profile),
    ReportSection("charts", 30, charts),
    ReportSection("indicators", 40, indicators),
    ReportSection("levers", 50, levers),
    ReportSection("coverage", 60, coverage),
    ReportSection("methodology", 70, methodology),
)


@hookimpl
def register_report_sections(register: Register) -> None:
    for section in SECTIONS:
        register(section)
