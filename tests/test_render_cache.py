"""The Vega bundle is cached on disk by version; a damaged or unwritable cache only costs time."""

from __future__ import annotations

import pytest

from benchmarkkit.reporting import render


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHMARKKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def build() -> str:
    return render.vega_bundle.__wrapped__()  # past the in-process memo, to the disk cache


def test_bundle_is_written_once_and_read_back(cache):
    first = build()
    files = list(cache.glob("vega-bundle-*.js"))
    assert len(files) == 1 and render.VL_VERSION in files[0].name
    assert "vegaEmbed" in first and "</script" not in first
    files[0].write_text(files[0].read_text().replace("vegaEmbed", "vegaEmbed/*read*/", 1))
    assert "/*read*/" in build()  # the second call read the file instead of rebuilding


def test_a_truncated_cache_file_is_rebuilt(cache):
    good = build()
    path = next(cache.glob("vega-bundle-*.js"))
    path.write_text(good[: len(good) // 2])  # as if a crash cut it (no end marker)
    assert build() == good
    assert path.read_text().startswith(good)


def test_an_unusable_cache_folder_is_ignored(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("BENCHMARKKIT_CACHE", str(blocker / "cache"))
    assert "vegaEmbed" in build()
