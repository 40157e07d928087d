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
        if p.name.endswith(".toml")
    )


def load_language(code: str) -> Language:
    available = languages()
    if code not in available:
        raise InputError(
            f"no report language '{code}'",
            hint=did_you_mean(code, available) or f"languages: {', '.join(available)}",
        )
    data = tomllib.loads((files(__name__) / "lang" / f"{code}.toml").read_text(encoding="utf-8"))
    if code != "en":  # a missing key falls back to English rather than showing the key
        base = tomllib.loads((files(__name__) / "lang" / "en.toml").read_text(encoding="utf-8"))
        data["text"] = {**base["text"], **data["text"]}
    fmt = data.get("format", {})
    return Language(code, data["text"], fmt.get("decimal", "."), fmt.get("thousands", ","))


def _index_name(ctx: ReportContext, scorer: str) -> str:
    key = f"index_{scorer}"
    return ctx.lang.texts.get(key) or ctx.titles.get(scorer, scorer)


def _node_label(ctx: ReportContext, node: str) -> str:
    return ctx.lang.texts.get(f"fa_{node}") or ctx.lang.texts.get(f"index_{node}") or node


def _rows(frame: pl.DataFrame | None) -> list[dict[str, Any]]:
    return [] if frame is None else frame.to_dicts()


def headline(ctx: ReportContext) -> str:
    t, n = ctx.lang.t, ctx.lang.num
    summary = ctx.comparison.summary
    top = summary.filter(pl.col("level") == pl.col("level").max().over("scorer")).sort("scorer")
    cards = []
    for row in _rows(top):
        name = esc(_index_name(ctx, row["scorer"]))
        if row["score"] is None:
            cards.append(
                f'<div class="card"><div class="label">{name}</div>'
                f'<div class="score">–</div><p>{t("not_scored")}</p></div>'
            )
            continue
        rank = t("rank_of", rank=row["rank"], n=row["n_peers"])
        prev = ctx.previous_year
        if prev is not None and not ctx.comparable.get(row["scorer"], True):
            change, cls = t("change_not_comparable", prev=prev), "flat"
        elif row.get("change") is None or prev is None:
            change, cls = t("change_none", prev=prev if prev is not None else "–"), "flat"
        elif abs(row["change"]) < 0.05:
            change, cls = t("change_flat", prev=prev), "flat"
        elif row["change"] > 0:
            change, cls = t("change_up", delta=n(row["change"]), prev=prev), "up"
        else:
            change, cls = t("change_down", delta=n(-row["change"]), prev=prev), "down"
        move = ""
        if row.get("rank_change") and ctx.comparable.get(row["scorer"], True):
            k = row["rank_change"]
            move = " · " + (t("rank_up", k=k) if k > 0 else t("rank_down", k=-k))
        gaps = t(
            "vs_median",
            gap=n(row["gap_to_median"], signed=True),
            best=n(row["gap_to_best"], signed=True),
        )
        cards.append(
            f'<div class="card"><div class="label">{name}</div>'
            f'<div class="score">{n(row["score"])}</div><div class="rank">{rank}</div>'
            f'<p class="{cls}">{change}{esc(move)}</p><p class="note">{gaps}</p></div>'
        )
    return (
        f"<h1>{t('report_title', city=ctx.city_name, year=ctx.year)}</h1>"
        f'<p class="lead">{t("lead", n=len(ctx.peers) - 1, spec=ctx.peer_spec)}</p>'
        f'<h2>{t("headline")}</h2><div class="cards">{"".join(cards)}</div>'
    )


def profile(ctx: ReportContext) -> str:
    t, n = ctx.lang.t, ctx.lang.num
    areas = ctx.comparison.summary.filter(pl.col("level") < pl.col("level").max().over("scorer"))
    rows = "".join(
        f"<tr><td>{esc(_index_name(ctx, r['scorer']))}</td><td>{esc(_node_label(ctx, r['node']))}"
        f'</td><td class="num">{n(r["score"])}</td><td class="num">{esc(r["rank"] or "–")}'
        f'</td><td class="num">{n(r["peer_median"])}</td><td class="num">'
        f"{n(r['gap_to_median'], signed=True)}</td></tr>"
        for r in _rows(areas.sort("scorer", "node"))
    )
    head = (
        f'<tr><th>{t("col_index")}</th><th>{t("col_focus")}</th><th class="num">'
        f'{t("col_score")}</th><th class="num">{t("col_rank")}</th><th class="num">'
        f'{t("col_median")}</th><th class="num">{t("col_gap")}</th></tr>'
    )
    return (
        f'<h2>{t("profile")}</h2><p class="note">{t("profile_explain")}</p>'
        f"{ctx.chart('heatmap')}<table>{head}{rows}</table>"
    )


def charts(ctx: ReportContext) -> str:
    t = ctx.lang.t
    parts = [f"<h2>{t('charts')}</h2>"]
    for name in sorted(k for k in ctx.charts if k.startswith("ranking:")):
        scorer = name.split(":", 1)[1]
        parts.append(ctx.chart(name, t("ranking_caption", index=_index_name(ctx, scorer))))
    parts.append(
        f'<div class="grid2"><div>{ctx.chart("trend", t("trend_caption"))}</div>'
        f"<div>{ctx.chart('slope', t('slope_caption'))}</div></div>"
    )
    return "".join(parts)


def indicators(ctx: ReportContext) -> str:
    t, n = ctx.lang.t, ctx.lang.num
    frame = ctx.comparison.indicators
    arrows = {"up": "▲", "down": "▼", "flat": "="}
    body = []
    for r in _rows(frame.sort("scorer", "name")):
        trend = r.get("trend")
        cls = ("up" if r.get("trend_better") else "down") if trend in ("up", "down") else "flat"
        mark = f'<span class="{cls}">{arrows.get(trend, "")}</span>' if trend else ""
        body.append(
            f"<tr><td>{esc(_index_name(ctx, r['scorer']))}</td><td>{esc(r['name'])}</td>"
            f'<td class="num">{n(r["value"], 2)}</td><td>{esc(r["unit"])}</td>'
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
    return (
        f'<h2>{t("indicators")}</h2><p class="note">{t("indicators_explain")}</p>'
        f"{ctx.chart('strip')}<table>{head}{''.join(body)}</table>"
    )


def _list(ctx: ReportContext, frame: pl.DataFrame | None) -> str:
    items = "".join(
        f"<li>{esc(r['name'])} ({ctx.lang.t('col_rank').lower()} {esc(r['rank'])})</li>"
        for r in _rows(frame)
    )
    return f"<ul>{items}</ul>"


def levers(ctx: ReportContext) -> str:
    t, n = ctx.lang.t, ctx.lang.num
    comp = ctx.comparison
    out = [
        f"<h2>{t('strengths')} · {t('weaknesses')} · {t('levers')}</h2>",
        f'<p class="note">{t("strengths_explain")}</p>',
        f'<div class="grid2"><div><h3>{t("strengths")}</h3>{_list(ctx, comp.strengths)}</div>'
        f"<div><h3>{t('weaknesses')}</h3>{_list(ctx, comp.weaknesses)}</div></div>",
        f'<h3>{t("levers")}</h3><p class="note">{t("levers_explain")}</p>',
    ]
    rows = _rows(comp.levers)
    if not rows:
        out.append(f"<p>{t('no_levers')}</p>")
    else:
        head = (
            f'<tr><th>{t("col_index")}</th><th>{t("col_indicator")}</th><th class="num">'
            f'{t("col_value")}</th><th class="num">{t("col_target")}</th>'
            f'<th class="num">{t("col_gain")}</th></tr>'
        )
        body = "".join(
            f"<tr><td>{esc(_index_name(ctx, r['scorer']))}</td><td>{esc(r['name'])}</td>"
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
                f'<tr><td>{esc(r["source"])}</td><td class="num">{esc(r["row"])}</td>'
                f"<td>{esc(r['rule'])}</td><td>{esc(r['message'])}</td></tr>"
            )
        parts.append("</table>")
    return "".join(parts)


def methodology(ctx: ReportContext) -> str:
    t = ctx.lang.t
    audit = ctx.audit
    files_rows = "".join(
        f"<tr><td>{esc(f['name'])}</td><td><code>{esc(f['sha256'][:16])}</code></td></tr>"
        for f in audit.get("files", [])
    )
    plugin_rows = "".join(
        f"<tr><td>{esc(p['name'])}</td><td>{esc(p['version'] or '')}</td>"
        f"<td>{esc(p['source'])}</td></tr>"
        for p in audit.get("plugins", [])
    )
    method_rows = "".join(
        f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in audit.get("methods", {}).items()
    )
    return (
        f"<h2>{t('methodology')}</h2><p>{t('methods_text')}</p>"
        f"<table>{method_rows}</table>"
        f"<h3>{t('data_files')}</h3><table>{files_rows}</table>"
        f"<h3>{t('plugins_used')}</h3><table>{plugin_rows}</table>"
        f'<p class="note">{t("engine")}: benchmarkkit {esc(audit.get("version"))} · '
        f"{t('generated')}: {esc(audit.get('generated'))}</p>"
        f'<h3>{t("attribution")}</h3><p class="note">{esc(audit.get("attribution", ""))}</p>'
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
