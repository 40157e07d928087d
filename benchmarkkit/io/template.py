"""A data-entry template: how a city with thin data starts.

``write_template`` writes a workbook (.xlsx) — or a CSV — for a chosen set of indicators, cities
and years: one sheet to fill in (a row per city and year, a column per indicator), an instructions
sheet, and number validation on every cell. Each indicator's header is written on two lines: its
id, then its name in the chosen language (en, vi, zh) with its unit and an arrow for its direction.
``load`` reads a header by its first line (``mapping.header_id``), so the filled-in file loads as it
is, with no mapping; the labels are for the person typing.

Values already known (``values``: observations) are written in, so a template can also be a
partly filled form to complete.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from benchmarkkit.errors import InputError, did_you_mean
from benchmarkkit.io.export import FORMULA_START

LANGS = ("en", "vi", "zh")
ROLE_LABELS = {
    "en": {"city_id": "City id", "city_name": "City", "year": "Year"},
    "vi": {"city_id": "Mã thành phố", "city_name": "Thành phố", "year": "Năm"},
    "zh": {"city_id": "城市代码", "city_name": "城市", "year": "年份"},
}
TEXTS = {
    "en": {
        "sheet": "data",
        "instructions": "instructions",
        "title": "How to fill in this sheet",
        "steps": [
            "One row per city and year; the city id, name and year are filled in already.",
            "Type each value in the unit shown under its header; '.' is the decimal mark, "
            "no thousands separators, no units in the cells.",
            "Leave a cell empty when the value is unknown: an empty cell is not a zero.",
            "Do not change the first line of a header (the indicator's id): it is how the file "
            "is read back. The second line is only a label.",
            "Check: benchmarkkit validate THIS_FILE",
        ],
        "columns": ["column (id)", "name", "unit", "direction", "bounds", "definition"],
        "higher": "higher is better",
        "lower": "lower is better",
        "none": "not scored",
        "hard": "must be within",
        "soft": "usually within",
        "error": "Type a number",
    },
    "vi": {
        "sheet": "data",
        "instructions": "huong_dan",
        "title": "Cách điền bảng này",
        "steps": [
            "Mỗi dòng là một thành phố trong một năm; mã, tên thành phố và năm đã được điền sẵn.",
            "Nhập mỗi giá trị theo đơn vị ghi dưới tiêu đề; dùng dấu '.' cho phần thập phân, "
            "không dùng dấu phân cách hàng nghìn, không ghi đơn vị trong ô.",
            "Để trống ô khi chưa có số liệu: ô trống không phải là số 0.",
            "Không sửa dòng đầu của tiêu đề (mã chỉ số): chương trình dùng nó để đọc lại tệp. "
            "Dòng thứ hai chỉ là nhãn.",
            "Kiểm tra: benchmarkkit validate TỆP_NÀY",
        ],
        "columns": ["cột (mã)", "tên", "đơn vị", "chiều", "giới hạn", "định nghĩa"],
        "higher": "càng cao càng tốt",
        "lower": "càng thấp càng tốt",
        "none": "không chấm điểm",
        "hard": "bắt buộc trong khoảng",
        "soft": "thường trong khoảng",
        "error": "Hãy nhập một số",
    },
    "zh": {
        "sheet": "data",
        "instructions": "说明",
        "title": "填写说明",
        "steps": [
            "每行为一个城市的一个年份；城市代码、城市名称和年份已预先填好。",
            "按表头下方所示单位填写数值；小数点用“.”，不要千位分隔符，单元格内不要写单位。",
            "数值未知时请留空：空白不等于零。",
            "请勿修改表头第一行（指标代码）：程序据此读回文件。第二行仅为说明。",
            "检查：benchmarkkit validate 本文件",
        ],
        "columns": ["列（代码）", "名称", "单位", "方向", "范围", "定义"],
        "higher": "越高越好",
        "lower": "越低越好",
        "none": "不计分",
        "hard": "必须在范围内",
        "soft": "通常在范围内",
        "error": "请输入数字",
    },
}
ARROWS = {1: "↑", -1: "↓"}


def template_indicators(
    catalog: pl.DataFrame,
    *,
    indicator_set: str | None = None,
    framework: Path | None = None,
    ids: Sequence[str] = (),
) -> list[str]:
    """The indicator ids a template asks for: given ``ids``, a framework's indicators, or an
    indicator set's; unknown ids are an error with did-you-mean."""
    if framework is not None:
        from benchmarkkit.io.framework import read_framework

        nodes = read_framework(Path(framework)).nodes
        ids = [*ids, *nodes.filter(pl.col("level") == 1)["node"].to_list()]
    if indicator_set is not None:
        sets = catalog["set"].unique().to_list()
        if indicator_set not in sets:
            raise InputError(
                f"unknown indicator set '{indicator_set}'",
                hint=did_you_mean(indicator_set, sets) or f"sets: {', '.join(sorted(sets))}",
            )
        ids = [*ids, *catalog.filter(pl.col("set") == indicator_set)["id"].to_list()]
    known = catalog["id"].to_list()
    for ind in ids:
        if ind not in known:
            raise InputError(
                f"unknown indicator '{ind}'",
                hint=did_you_mean(ind, known) or "list ids with `benchmarkkit indicators`",
            )
    derived = set(catalog.filter(pl.col("numerator").is_not_null())["id"].to_list())
    inputs = catalog.filter(pl.col("id").is_in(list(derived & set(ids))))
    needed = [x for x in [*inputs["numerator"], *inputs["denominator"]] if x is not None]
    # a derived indicator is computed, not typed in: ask for its inputs instead
    wanted = [i for i in ids if i not in derived] + [n for n in needed if n not in derived]
    return list(dict.fromkeys(wanted))


def _label(row: dict[str, Any], lang: str) -> str:
    name = row.get(f"name_{lang}") or row.get("name") or row["id"]
    unit = f" ({row['unit']})" if row.get("unit") else ""
    arrow = f" {ARROWS[row['direction']]}" if row.get("direction") in ARROWS else ""
    return f"{name}{unit}{arrow}"


def _bounds(row: dict[str, Any], text: dict[str, Any]) -> str:
    lo, hi = row.get("lower"), row.get("upper")
    if lo is None and hi is None:
        return ""
    span = f"[{'' if lo is None else f'{lo:g}'}, {'' if hi is None else f'{hi:g}'}]"
    return f"{text[row.get('bound_type') or 'soft']} {span}"


def write_template(
    path: Path,
    catalog: pl.DataFrame,
    indicators: Sequence[str],
    cities: Sequence[str | tuple[str, str]],
    years: Sequence[int],
    lang: str = "en",
    *,
    values: pl.DataFrame | None = None,
) -> Path:
    """Write the template as .xlsx (data sheet + instructions, validated cells) or .csv (the data
    sheet only), by ``path``'s suffix. ``cities``: ids, or (id, name) pairs; ``values``:
    observations to fill in (city_id, year, indicator, value)."""
    if lang not in LANGS:
        raise InputError(f"unknown language '{lang}'", hint=f"one of {', '.join(LANGS)}")
    if not indicators or not cities or not years:
        raise InputError(
            "a template needs indicators, cities and years",
            hint="e.g. --set iso_u4ssc --city C1 --city C2 --year 2023",
        )
    known = {row["id"]: row for row in catalog.iter_rows(named=True)}
    rows = [known[i] for i in indicators if i in known]
    if len(rows) != len(indicators):
        missing = next(i for i in indicators if i not in known)
        raise InputError(f"unknown indicator '{missing}'", hint=did_you_mean(missing, list(known)))
    pairs = [(c, "") if isinstance(c, str) else (c[0], c[1]) for c in cities]
    grid = _grid(pairs, years, indicators, values)
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        _write_csv(Path(path), rows, grid, lang)
    elif suffix == ".xlsx":
        _write_xlsx(Path(path), rows, grid, lang)
    else:
        raise InputError("a template is an .xlsx or a .csv file", source=str(path))
    return Path(path)


def _grid(
    cities: list[tuple[str, str]],
    years: Sequence[int],
    indicators: Sequence[str],
    values: pl.DataFrame | None,
) -> list[list[Any]]:
    """One row per city and year: id, name, year, then the known value of each indicator."""
    known: dict[tuple[str, int, str], float] = {}
    names: dict[str, str] = {}
    if values is not None:
        for r in values.select("city_id", "year", "indicator", "value").iter_rows():
            known[(r[0], int(r[1]), r[2])] = r[3]
        if "city_name" in values.columns:
            names = dict(
                values.select("city_id", "city_name").drop_nulls().unique("city_id").rows()
            )
    return [
        [cid, name or names.get(cid, ""), year]
        + [known.get((cid, int(year), ind)) for ind in indicators]
        for cid, name in cities
        for year in years
    ]


def _headers(rows: list[dict[str, Any]], lang: str) -> list[str]:
    roles = [f"{r}\n{ROLE_LABELS[lang][r]}" for r in ("city_id", "city_name", "year")]
    return roles + [f"{row['id']}\n{_label(row, lang)}" for row in rows]


def _write_csv(path: Path, rows: list[dict[str, Any]], grid: list[list[Any]], lang: str) -> None:
    """UTF-8 with a BOM (so that Excel shows the labels), CR LF, two-line headers."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow([_text_cell(v) for v in _headers(rows, lang)])
        for line in grid:
            writer.writerow(
                [
                    "" if v is None else (repr(v) if isinstance(v, float) else _text_cell(v))
                    for v in line
                ]
            )


def _text_cell(value: Any) -> Any:
    """A text cell made formula-safe like every other CSV output (``export.neutralise_formulas``):
    a city named ``=HYPERLINK(...)`` stays text when the template is opened in Excel."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def _write_xlsx(path: Path, rows: list[dict[str, Any]], grid: list[list[Any]], lang: str) -> None:
    import xlsxwriter

    text = TEXTS[lang]
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    head = book.add_format(
        {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#EEF2F7"}
    )
    fixed = book.add_format({"bg_color": "#F5F5F5"})
    sheet = book.add_worksheet(text["sheet"])
    for col, header in enumerate(_headers(rows, lang)):
        sheet.write_string(0, col, header, head)
        sheet.set_column(col, col, 16 if col < 3 else 22)
    sheet.set_row(0, 48)
    sheet.freeze_panes(1, 3)
    for r, line in enumerate(grid, start=1):
        sheet.write_string(r, 0, str(line[0]), fixed)
        sheet.write_string(r, 1, str(line[1]), fixed)
        sheet.write_number(r, 2, int(line[2]), fixed)
        for c, value in enumerate(line[3:], start=3):
            if value is not None:
                sheet.write_number(r, c, float(value))
    last = max(len(grid), 1)
    for c, row in enumerate(rows, start=3):
        sheet.data_validation(1, c, last, c, _validation(row, text, lang))
    sheet.data_validation(
        1,
        2,
        last,
        2,
        {"validate": "integer", "criteria": "between", "minimum": 1900, "maximum": 2100},
    )
    _instructions(book, rows, text, lang)
    book.close()


def _validation(row: dict[str, Any], text: dict[str, Any], lang: str) -> dict[str, Any]:
    """Numbers only; a hard range stops a value outside it, a soft range only warns."""
    lo = row.get("lower")
    hi = row.get("upper")
    hard = row.get("bound_type") == "hard"
    rule: dict[str, Any] = {
        "validate": "decimal",
        "criteria": "between",
        "minimum": lo if lo is not None else -1e300,
        "maximum": hi if hi is not None else 1e300,
        "input_title": str(row["id"])[:32],
        "input_message": (_label(row, lang) + "\n" + _bounds(row, text))[:255],
        "error_title": text["error"][:32],
        "error_message": (text["error"] + " " + _bounds(row, text)).strip()[:255],
        "error_type": "stop" if hard else "warning",
    }
    return rule


def _instructions(book: Any, rows: list[dict[str, Any]], text: dict[str, Any], lang: str) -> None:
    sheet = book.add_worksheet(text["instructions"])
    bold = book.add_format({"bold": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 36)
    sheet.set_column(2, 4, 20)
    sheet.set_column(5, 5, 60)
    sheet.write_string(0, 0, text["title"], bold)
    for i, step in enumerate(text["steps"], start=1):
        sheet.write_string(i, 0, f"{i}. {step}")
    top = len(text["steps"]) + 2
    for c, name in enumerate(text["columns"]):
        sheet.write_string(top, c, name, bold)
    for r, row in enumerate(rows, start=top + 1):
        direction = {1: text["higher"], -1: text["lower"]}.get(row.get("direction"), text["none"])
        cells = [
            row["id"],
            row.get(f"name_{lang}") or row.get("name") or row["id"],
            row.get("unit") or "",
            direction,
            _bounds(row, text),
            row.get("definition") or "",
        ]
        for c, cell in enumerate(cells):
            sheet.write_string(r, c, str(cell), wrap)
