"""Test artifacts merged into one report, as GoCD's `UnitTestReportGenerator` does.

The files a job's `test` artifacts match (a folder: every `*.xml` in it) that are JUnit
(`<testsuite>`) or NUnit 2 (`<test-results>`) reports are merged into one HTML page, which the
agent uploads as `testoutput/index.html`. Its summary keeps GoCD's markup, `div > p > span`
with the classes `tests_total_count`, `tests_failed_count`, `tests_ignored_count` and
`tests_total_duration`, which tools read the counts from. Other files are reported and skipped.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

REPORT_FOLDER = "testoutput"
REPORT_FILE = "index.html"

_NUNIT_FAILED = {"failure", "error"}
_NUNIT_NOT_RUN = {"ignored", "notrunnable", "skipped", "inconclusive"}


@dataclass
class TestCase:
    suite: str
    name: str
    seconds: float = 0.0
    outcome: str = "passed"  # passed | failed | ignored
    message: str = ""
    details: str = ""


@dataclass
class TestReport:
    cases: list[TestCase] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[TestCase]:
        return [c for c in self.cases if c.outcome == "failed"]

    @property
    def ignored(self) -> int:
        return sum(1 for c in self.cases if c.outcome == "ignored")

    @property
    def seconds(self) -> float:
        return sum(c.seconds for c in self.cases)


def report_files(matches: list[Path]) -> Iterator[Path]:
    """GoCD's merge input: a matched file as is, a matched folder's `*.xml` files."""
    for match in matches:
        if match.is_dir():
            for folder, _dirs, names in sorted(os.walk(match)):
                for name in sorted(names):
                    if name.endswith(".xml"):
                        yield Path(folder) / name
        elif match.is_file():
            yield match


def merge(files: Iterator[Path], say: Callable[[str], None]) -> TestReport:
    """Every recognised report's test cases; `say` gets GoCD's line for each skipped file."""
    report = TestReport()
    for path in files:
        try:
            # The job's own output on its own machine; expat (>= 2.4.1) caps entity
            # amplification and ElementTree never fetches external entities.
            root = ElementTree.parse(path).getroot()  # noqa: S314
        except (ElementTree.ParseError, OSError):
            say(f"The file {path.name} could not be parsed. It seems to be invalid.")
            continue
        if root.tag == "test-results" or root.find(".//test-results") is not None:
            report.cases += _nunit(root)
        elif root.tag == "testsuite" or root.find(".//testsuite") is not None:
            report.cases += _junit(root)
        else:
            say(f"Ignoring file {path.name} - it is not a recognised test file.")
            continue
        report.files.append(path.name)
    return report


def _seconds(value: str | None) -> float:
    """Seconds as reports write them; Maven Surefire groups thousands (`1,234.5`)."""
    try:
        return max(0.0, float((value or "0").replace(",", "")))
    except ValueError:
        return 0.0


def _text(element: ElementTree.Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def _junit(root: ElementTree.Element) -> list[TestCase]:
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    cases = []
    for suite in suites:
        for case in suite.findall("testcase"):
            found = TestCase(
                suite=case.get("classname") or suite.get("name") or "",
                name=case.get("name") or "",
                seconds=_seconds(case.get("time")),
            )
            problem = case.find("failure")
            if problem is None:
                problem = case.find("error")
            if problem is not None:
                found.outcome = "failed"
                found.message = problem.get("message") or problem.get("type") or ""
                found.details = _text(problem)
            elif case.find("skipped") is not None:
                found.outcome = "ignored"
            cases.append(found)
    return cases


def _nunit(root: ElementTree.Element) -> list[TestCase]:
    cases = []
    for case in root.iter("test-case"):
        name = case.get("name") or ""
        suite, _, short = name.rpartition(".")
        found = TestCase(suite=suite, name=short or name, seconds=_seconds(case.get("time")))
        result = (case.get("result") or "").lower()
        if case.get("executed", "True").lower() == "false" or result in _NUNIT_NOT_RUN:
            found.outcome = "ignored"
        elif result in _NUNIT_FAILED or case.get("success", "True").lower() == "false":
            found.outcome = "failed"
            failure = case.find("failure")
            found.message = _text(failure.find("message")) if failure is not None else ""
            found.details = _text(failure.find("stack-trace")) if failure is not None else ""
        cases.append(found)
    return cases


def render(report: TestReport) -> str:
    """The report page: GoCD's summary markup, then the failures, then one row per suite."""
    e = html.escape
    failed = report.failed
    lines = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"><title>Test results</title>',
        f"<style>{_STYLE}</style></head><body>",
        '<div class="test-summary"><p>',
        f'Tests run: <span class="tests_total_count">{len(report.cases)}</span>, ',
        f'Failures: <span class="tests_failed_count">{len(failed)}</span>, ',
        f'Not run: <span class="tests_ignored_count">{report.ignored}</span>, ',
        f'Time: <span class="tests_total_duration">{report.seconds:.3f}</span> seconds.',
        "</p></div>",
    ]
    if failed:
        lines.append('<h2>Failures</h2><ol class="failures">')
        for case in failed:
            lines.append(
                f'<li><span class="test">{e(case.suite)}.{e(case.name)}</span>'
                f'<p class="message">{e(case.message)}</p><pre>{e(case.details)}</pre></li>'
            )
        lines.append("</ol>")
    lines.append(
        '<h2>Test suites</h2><table class="suites"><thead><tr><th>Suite</th><th>Tests</th>'
        "<th>Failures</th><th>Not run</th><th>Time (s)</th></tr></thead><tbody>"
    )
    for suite, cases in _by_suite(report.cases).items():
        lines.append(
            f"<tr><td>{e(suite)}</td><td>{len(cases)}</td>"
            f"<td>{sum(c.outcome == 'failed' for c in cases)}</td>"
            f"<td>{sum(c.outcome == 'ignored' for c in cases)}</td>"
            f"<td>{sum(c.seconds for c in cases):.3f}</td></tr>"
        )
    lines.append("</tbody></table></body></html>")
    return "\n".join(lines) + "\n"


def _by_suite(cases: list[TestCase]) -> dict[str, list[TestCase]]:
    suites: dict[str, list[TestCase]] = {}
    for case in cases:
        suites.setdefault(case.suite, []).append(case)
    return suites


_STYLE = (
    "body{font-family:sans-serif;margin:1em;color:#333}"
    ".test-summary p{font-size:1.1em}"
    ".tests_failed_count{color:#d9534f;font-weight:bold}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
    "pre{background:#f5f5f5;padding:.5em;overflow:auto}"
)
