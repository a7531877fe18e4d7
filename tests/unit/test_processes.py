"""The web command line's WEB_CONCURRENCY (project/processes.py)."""

from __future__ import annotations

import pytest

from project import processes


def workers(line: list[str]) -> str:
    return line[line.index("--workers") + 1]


@pytest.mark.parametrize(("value", "expected"), [(None, "1"), ("", "1"), ("1", "1"), ("2", "2"), (" 4 ", "4")])
def test_web_concurrency_sets_uvicorns_workers(value, expected):
    environ = {} if value is None else {"WEB_CONCURRENCY": value}
    assert workers(processes.command("web", environ)) == expected


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_web_concurrency_stops_the_start_naming_it(value):
    with pytest.raises(SystemExit, match=f"WEB_CONCURRENCY must be a positive integer, not '{value}'"):
        processes.command("web", {"WEB_CONCURRENCY": value})


def test_servers_started_by_the_harness_say_their_workers_whatever_the_environment(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")  # uvicorn would read it if the command line did not say
    assert workers(processes.asgi_server("127.0.0.1", 8000)) == "1"
    assert workers(processes.asgi_server("127.0.0.1", 8000, workers=2)) == "2"
    with pytest.raises(ValueError):
        processes.asgi_server("127.0.0.1", 8000, workers=0)
