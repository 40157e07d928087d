"""The report's "How sure is this rank?" section, registered like any plugin's section.

It shows what a sensitivity analysis of the run found for the city and its peers: each index's
rank among the group with the range it keeps in 90 % of the variations (error bars), and the
uncertain choices that move the ranks most. It draws its own chart through
``ReportSection.charts`` — the one-file extension point a third party's section uses — and is
silent when the report was made without an analysis (``report --uncertainty N``).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from benchmarkkit import hookimpl
from benchmarkkit.reporting.sections import ReportContext, ReportSection, esc

TEXTS = {
    "en": {
        "title": "How sure is this rank?",
        "intro": "Each index was scored {n} times again, each time with other reasonable choices "
        "({inputs}). The bars show the rank among the group that each city keeps in 90 % of "
        "these variations; the dot is the rank in this report.",
        "card": "{index}: rank {rank} of {of}, between {low} and {high} in 90 % of {n} variations.",
        "point": "{index}: rank {rank} of {of}, the same in every one of {n} variations.",
        "moves": "What moves the ranks most: {inputs}.",
        "rank": "Rank among the group (90 % of variations)",
        "city": "City",
        "x": "rank",
    },
    "vi": {
        "title": "Thứ hạng này chắc chắn đến đâu?",
        "intro": "Mỗi chỉ số được tính lại {n} lần, mỗi lần với những lựa chọn hợp lý khác "
        "({inputs}). Các thanh cho thấy thứ hạng trong nhóm mà mỗi thành phố giữ được trong 90 % "
        "các biến thể; dấu chấm là thứ hạng trong báo cáo này.",
        "card": "{index}: hạng {rank}/{of}, trong khoảng {low}–{high} ở 90 % của {n} biến thể.",
        "point": "{index}: hạng {rank}/{of}, không đổi trong cả {n} biến thể.",
        "moves": "Điều làm thay đổi thứ hạng nhiều nhất: {inputs}.",
        "rank": "Thứ hạng trong nhóm (90 % biến thể)",
        "city": "Thành phố",
        "x": "hạng",
    },
    "zh": {
        "title": "这个排名有多可靠？",
        "intro": "每个指数都用其他合理的选择（{inputs}）重新计算了 {n} 次。横条显示每个城市在 90% "
        "的变化中在组内保持的排名；圆点是本报告中的排名。",
        "card": "{index}：第 {rank} 名（共 {of} 个），"
        "在 {n} 次变化中有 90% 位于第 {low}–{high} 名。",
        "point": "{index}：第 {rank} 名（共 {of} 个），在全部 {n} 次变化中不变。",
        "moves": "对排名影响最大的是：{inputs}。",
        "rank": "组内排名（90% 的变化）",
        "city": "城市",
        "x": "排名",
    },
}
INPUTS = {
    "en": {
        "weights": "the weights",
        "normalise": "the normalisation",
        "treat": "outlier treatment",
        "impute": "gap filling",
        "aggregate": "the aggregation",
        "drop-indicator": "leaving one indicator out",
    },
    "vi": {
        "weights": "trọng số",
        "normalise": "cách chuẩn hóa",
        "treat": "xử lý giá trị ngoại lai",
        "impute": "bù dữ liệu thiếu",
        "aggregate": "cách tổng hợp",
        "drop-indicator": "bỏ bớt một chỉ tiêu",
    },
    "zh": {
        "weights": "权重",
        "normalise": "标准化方法",
        "treat": "异常值处理",
        "impute": "缺失值填补",
        "aggregate": "汇总方法",
        "drop-indicator": "去掉一个指标",
    },
}


def _texts(ctx: ReportContext) -> dict[str, str]:
    return TEXTS.get(ctx.lang.code, TEXTS["en"])


def _input_names(ctx: ReportContext, kinds: list[str]) -> str:
    names = INPUTS.get(ctx.lang.code, INPUTS["en"])
    return ", ".join(names.get(k, k) for k in kinds)


def _intervals(ctx: ReportContext) -> dict[str, pl.DataFrame]:
    """Per index: the group's rank intervals, where the card has a rank among at least two."""
    from benchmarkkit.analysis.uncertainty import comparison_intervals

    found = comparison_intervals(ctx.comparison, ctx.uncertainty or {})
    return {scorer: frame for scorer, frame in found.items() if frame.height >= 2}


def charts(ctx: ReportContext) -> dict[str, Any]:
    import altair as alt

    text = _texts(ctx)
    frames = []
    for scorer, frame in _intervals(ctx).items():
        frames.append(
            frame.join(ctx.cities.select("city_id", "city_name"), on="city_id", how="left")
            .with_columns(
                pl.lit(ctx.lang.index_name(scorer, ctx.titles.get(scorer))).alias("index"),
                (pl.col("city_id") == ctx.city_id).alias("this city"),
                pl.coalesce("city_name", "city_id").alias("city"),
            )
            .select("index", "city", "this city", "nominal_rank", "rank_low", "rank_high")
        )
    if not frames:
        return {}
    data = pl.concat(frames)
    base = alt.Chart(data).encode(
        y=alt.Y("city:N", sort=alt.EncodingSortField("nominal_rank"), title=text["city"]),
    )
    bars = base.mark_rule(strokeWidth=6, opacity=0.45).encode(
        x=alt.X("rank_low:Q", title=text["rank"], scale=alt.Scale(reverse=True, nice=False)),
        x2="rank_high:Q",
        color=alt.Color("this city:N", legend=None),
    )
    dots = base.mark_point(filled=True, size=70).encode(
        x="nominal_rank:Q",
        color=alt.Color("this city:N", legend=None),
        tooltip=["city", "nominal_rank", "rank_low", "rank_high"],
    )
    chart = (
        alt.layer(bars, dots, data=data)
        .properties(width=260, height=alt.Step(16))
        .facet(row=alt.Row("index:N", title=None), data=data)
        .resolve_scale(y="independent")
    )
    return {"uncertainty:ranks": chart}


def rank_sentences(ctx: ReportContext) -> dict[str, str]:
    """Scorer → "rank 4 of 11, between 4 and 5 in 90 % of 50 variations" for the city: what
    the section lists and what each index card repeats."""
    text, num = _texts(ctx), ctx.lang.num
    out = {}
    for scorer, frame in _intervals(ctx).items():
        row = frame.filter(pl.col("city_id") == ctx.city_id).row(0, named=True)
        values = {
            "index": ctx.lang.index_name(scorer, ctx.titles.get(scorer)),
            "rank": row["nominal_rank"],
            "of": row["n_ranked"],
            "low": row["rank_low"],
            "high": row["rank_high"],
            "n": num(row["n_samples"], 0),
        }
        key = "point" if row["rank_low"] == row["rank_high"] == row["nominal_rank"] else "card"
        out[scorer] = text[key].format(**values)
    return out


def render(ctx: ReportContext) -> str:
    if not ctx.uncertainty:
        return ""
    from benchmarkkit.analysis.uncertainty import moving_inputs

    text, num = _texts(ctx), ctx.lang.num
    lines = []
    for scorer, sentence in rank_sentences(ctx).items():
        lines.append(f"<li>{esc(sentence)}</li>")
        moving = moving_inputs(ctx.uncertainty[scorer])
        if moving.height and moving["effect"][0] > 0:
            kinds = [k for k, e in zip(moving["input"], moving["effect"], strict=True) if e > 0]
            moves = text["moves"].format(inputs=_input_names(ctx, kinds))
            lines.append(f'<li class="note">{esc(moves)}</li>')
    if not lines:
        return ""
    first = next(iter(ctx.uncertainty.values()))
    intro = text["intro"].format(
        n=num(first.n_samples, 0), inputs=_input_names(ctx, [i.kind for i in first.inputs])
    )
    return f"<h2>{esc(text['title'])}</h2><p>{esc(intro)}</p><ul>{''.join(lines)}</ul>" + ctx.chart(
        "uncertainty:ranks"
    )


@hookimpl
def register_report_sections(register: Any) -> None:
    register(ReportSection("uncertainty", 25, render, charts=charts))
