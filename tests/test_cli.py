"""The command line: ask --json contract, check, quote, eval, and the console chat."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.adapters.console import parse_line, run_console

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=full_env,
        timeout=120,
    )


def test_ask_json_contract_from_stdin_in_order():
    questions = ["谁说的大力出奇迹", "今天天气怎么样", "", "ＳＯＲＡ的參數量"]
    out = run_cli("ask", "--json", stdin="\n".join(questions) + "\n")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["question"] for r in rows] == questions
    for r in rows:
        assert set(r) == {"question", "answered", "kind", "faq_id", "hits", "reply"}
        assert r["kind"] in ("faq", "transcript", "none")
        assert isinstance(r["answered"], bool) and len(r["hits"]) <= 5
        assert (r["kind"] == "none") == (not r["answered"])
        assert r["faq_id"] is None or r["kind"] == "faq"
        for h in r["hits"]:
            assert set(h) == {"episode", "line", "score", "text"} and isinstance(h["line"], int)
        assert len(r["reply"]) <= 1900
    assert rows[0]["answered"] and rows[0]["hits"][0]["line"] in (36, 73)
    assert not rows[1]["answered"]


def test_ask_json_reply_is_what_the_console_prints(core, capsys):
    q = "谁说的大力出奇迹"
    assert main(["ask", "--json", q]) == 0
    row = json.loads(capsys.readouterr().out)
    stdout = io.StringIO()
    import asyncio

    asyncio.run(run_console(core, io.StringIO(q + "\n"), stdout))
    assert stdout.getvalue().strip() == row["reply"].strip()


def test_check_passes_on_shipped_content(capsys):
    assert main(["check"]) == 0
    assert capsys.readouterr().out.startswith("ok:")


def test_check_reports_problems_and_exits_1(tmp_path, capsys):
    root = tmp_path / "content" / "episodes" / "x"
    root.mkdir(parents=True)
    (root / "episode.yaml").write_text("id: x\nshow: s\ntitle: t\nlanguage: zh\nbogus: 1\n", encoding="utf-8")
    (root / "transcript.txt").write_text("一行\n", encoding="utf-8")
    assert main(["check", "--content", str(tmp_path / "content")]) == 1
    out = capsys.readouterr().out
    assert "content/episodes/x/episode.yaml:5: episode: unknown key 'bogus'" in out


def test_bot_refuses_to_start_on_invalid_content(tmp_path):
    (tmp_path / "content").mkdir()
    out = run_cli("ask", "hi", "--content", str(tmp_path / "content"))
    assert out.returncode == 1 and "cannot start" in out.stderr and "Traceback" not in out.stderr


def test_quote_faq_episodes_commands(capsys):
    assert main(["quote", "sora-discussion:36"]) == 0
    assert "大力出奇迹" in capsys.readouterr().out
    assert main(["quote", "sora-discussion:99999"]) == 1
    assert main(["faq"]) == 0
    assert main(["episodes"]) == 0
    assert "sora-discussion" in capsys.readouterr().out


def test_eval_prints_metrics(tmp_path, capsys):
    qs = tmp_path / "q.yaml"
    qs.write_text(
        "- id: T1\n  q: 谁说的大力出奇迹\n  lines: [36, 73]\n  style: keyword\n"
        "- id: T2\n  q: 今天天气怎么样\n  lines: []\n  style: negative\n",
        encoding="utf-8",
    )
    assert main(["eval", str(qs)]) == 0
    out = capsys.readouterr().out
    for col in ("hit1", "hit3", "mrr10", "rejection", "false_answers", "answer_rate"):
        assert col in out
    assert "keyword" in out and "negative" in out


def test_make_run_default_is_the_console_and_exits_at_end_of_input():
    out = run_cli(stdin="谁说的大力出奇迹\n/quote sora-discussion:36\n/help\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("大力出奇迹") >= 2 and "/ask" in out.stdout


@pytest.mark.parametrize(
    ("line", "command", "text"),
    [
        ("/quote 大力", "quote", "大力"),
        ("/FAQ", "faq", ""),
        ("/start", "help", ""),
        ("你好", "ask", "你好"),
        ("/nope x", "ask", "/nope x"),
    ],
)
def test_console_parses_commands(line, command, text):
    req = parse_line(line)
    assert req.command == command and req.text == text


def test_console_skips_blank_lines():
    assert parse_line("   \n") is None
