"""`siyu codes`: create, show with a QR image, list, and a one-item-one-code batch ZIP."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from typer.testing import CliRunner

from siyu.cli import app
from siyu.codes.models import ChannelCode, CodeBatch
from siyu.core.settings import reset_settings

runner = CliRunner()


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_create_show_and_list_a_code(tmp_path):
    created = json.loads(
        _run(
            "codes",
            "create",
            "--name",
            "五一店海报",
            "--code",
            "wy-poster",
            "--kind",
            "poster",
            "--target",
            "https://mall.example/",
            "--tag",
            "门店",
            "--json",
        )
    )
    assert created["url"] == "http://127.0.0.1:8000/q/wy-poster"
    assert created["touchpoint"] == "wy-poster" and created["tag_names"] == ["门店"]
    png = tmp_path / "qr.png"
    shown = json.loads(_run("codes", "show", "wy-poster", "--png", str(png), "--json"))
    assert shown["name"] == "五一店海报"
    assert png.read_bytes().startswith(b"\x89PNG")
    assert [c["code"] for c in json.loads(_run("codes", "list", "--json"))] == ["wy-poster"]


def test_an_unknown_code_fails_with_the_field():
    result = runner.invoke(app, ["codes", "show", "nope"])
    assert result.exit_code == 2 and "code" in result.output


def test_a_guide_route_without_its_staff_id_is_refused_before_anything_is_written():
    result = runner.invoke(app, ["codes", "create", "--name", "海报", "--guide", ":2"])
    assert result.exit_code == 2 and "--guide" in result.output, result.output
    assert json.loads(_run("codes", "list", "--json")) == []


def test_a_batch_writes_png_svg_and_a_csv_of_unique_codes(tmp_path, session):
    out = tmp_path / "codes.zip"
    done = json.loads(
        _run(
            "codes",
            "batch",
            "--name",
            "春茶礼盒",
            "--prefix",
            "TEA",
            "--count",
            "12",
            "--base-url",
            "https://s.brand.cn",
            "--out",
            str(out),
            "--json",
        )
    )
    assert done["count"] == 12
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        rows = list(csv.DictReader(io.StringIO(archive.read("codes.csv").decode("utf-8-sig"))))
        assert archive.read(rows[0]["svg"]).lstrip().startswith(b"<svg")
    assert len({r["code"] for r in rows}) == 12
    assert sum(n.startswith("png/") for n in names) == 12
    assert sum(n.startswith("svg/") for n in names) == 12
    assert rows[0]["url"] == f"https://s.brand.cn/q/{rows[0]['code']}"
    assert session.query(ChannelCode).filter(ChannelCode.batch_id.is_not(None)).count() == 12
    assert session.query(CodeBatch).one().status == "done"


def _png_width(png: bytes) -> int:
    assert png.startswith(b"\x89PNG")
    return int.from_bytes(png[16:20], "big")  # the IHDR chunk's width


def test_a_codes_png_is_large_enough_to_print_or_as_large_as_asked(tmp_path):
    _run(
        "codes",
        "create",
        "--name",
        "门店台卡",
        "--code",
        "desk-1",
        "--target",
        "https://x.example/",
    )
    printed, large = tmp_path / "printed.png", tmp_path / "large.png"
    _run("codes", "show", "desk-1", "--png", str(printed))
    _run("codes", "show", "desk-1", "--png", str(large), "--size", "3000")

    assert _png_width(printed.read_bytes()) >= 1000
    assert _png_width(large.read_bytes()) >= 3000


def test_a_wecom_code_without_wecom_warns_what_to_set():
    result = runner.invoke(
        app,
        [
            "codes",
            "create",
            "--name",
            "收银台",
            "--kind",
            "store",
            "--target-kind",
            "wecom_contact_way",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "WeCom is not connected" in result.output and "SIYU_WECOM_SECRET" in result.output
    made = json.loads(
        _run("codes", "create", "--name", "菜单", "--target-kind", "official_account_qr", "--json")
    )
    assert made["missing_settings"] == [
        "SIYU_WECHAT_APP_ID",
        "SIYU_WECHAT_SECRET",
        "SIYU_WECHAT_TOKEN",
    ]
    assert made["code"].startswith("code-20")  # made for it, readable


def test_links_use_the_public_address(monkeypatch):
    monkeypatch.setenv("SIYU_PUBLIC_URL", "https://scan.brand.cn")
    reset_settings()
    made = json.loads(_run("codes", "create", "--name", "海报", "--code", "p-1", "--json"))
    assert made["url"] == "https://scan.brand.cn/q/p-1" and made["missing_settings"] == []
