"""The yearly report's sections, registered like any plugin's (``register_report_sections``).

Each section turns the report context into an HTML fragment. Fixed texts come from the language
files in ``lang/`` (a new language is a new file); every text from data is escaped.
"""

from __future__ import annotations

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
    t, n = ctx.lang.t, ctx.lang.num
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
            rank = t("rank_of", rank=row["rank"], n=row["n_ranked"])
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
        parts.append(ctx.chart(name, t("ranking_caption" if few else "ranking_many", index=index)))
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
