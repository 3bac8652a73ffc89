"""Test artifacts merged into `testoutput/index.html`, as GoCD's UnitTestReportGenerator."""

from __future__ import annotations

import re
from pathlib import Path

from pygocd.agent import test_reports

JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="calc.AddTest" tests="3" failures="1" skipped="1" time="0.5">
    <testcase classname="calc.AddTest" name="adds" time="0.25"/>
    <testcase classname="calc.AddTest" name="overflows" time="0.125">
      <failure message="expected &lt;3&gt; but was 4"
               type="AssertionError">at calc.AddTest:12</failure>
    </testcase>
    <testcase classname="calc.AddTest" name="later" time="0"><skipped/></testcase>
  </testsuite>
</testsuites>
"""

NUNIT = """<?xml version="1.0" encoding="utf-8"?>
<test-results name="Tests.dll" total="3" failures="1" not-run="1">
  <test-suite name="Tests">
    <results>
      <test-case name="Lib.MathTest.Divides" executed="True" result="Success" success="True"
                 time="0.100"/>
      <test-case name="Lib.MathTest.ByZero" executed="True" result="Failure" success="False"
                 time="0.050">
        <failure><message>Expected: 0</message>
          <stack-trace>at Lib.MathTest.ByZero()</stack-trace></failure>
      </test-case>
      <test-case name="Lib.MathTest.Slow" executed="False" result="Ignored"/>
    </results>
  </test-suite>
</test-results>
"""


def spans(page: str) -> dict[str, str]:
    return dict(re.findall(r'<span class="(tests_\w+)">([^<]*)</span>', page))


def test_junit_and_nunit_reports_merge_into_gocds_summary(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "TEST-calc.xml").write_text(JUNIT)
    (reports / "nested").mkdir()
    (reports / "nested" / "nunit.xml").write_text(NUNIT)
    (reports / "notes.txt").write_text("not xml, not looked at")
    (reports / "pom.xml").write_text("<project/>")
    (reports / "broken.xml").write_text("<testsuite><testcase")
    said: list[str] = []
    report = test_reports.merge(test_reports.report_files([reports]), said.append)
    assert said == [
        "The file broken.xml could not be parsed. It seems to be invalid.",
        "Ignoring file pom.xml - it is not a recognised test file.",
    ]
    assert report.files == ["TEST-calc.xml", "nunit.xml"]
    page = test_reports.render(report)
    assert spans(page) == {
        "tests_total_count": "6",
        "tests_failed_count": "2",
        "tests_ignored_count": "2",
        "tests_total_duration": "0.525",
    }
    # GoCD's summary is read with the XPath //div/p/span[@class='tests_total_count'].
    assert re.search(r"<div[^>]*><p>\s*Tests run: <span", page)
    assert "calc.AddTest.overflows" in page
    assert "expected &lt;3&gt; but was 4" in page
    assert "Lib.MathTest.ByZero" in page
    assert "at Lib.MathTest.ByZero()" in page
    assert "Lib.MathTest.Divides" not in page  # passing tests are counted, not listed


def test_a_single_testsuite_file_and_markup_in_names_are_escaped(tmp_path: Path) -> None:
    single = tmp_path / "one.xml"
    single.write_text(
        '<testsuite name="s"><testcase classname="&lt;b&gt;" name="x" time="1,234.5">'
        '<error message="boom"/></testcase></testsuite>'
    )
    report = test_reports.merge(test_reports.report_files([single]), lambda _line: None)
    page = test_reports.render(report)
    assert spans(page)["tests_failed_count"] == "1"
    assert spans(page)["tests_total_duration"] == "1234.500"
    assert "<b>" not in page
    assert "&lt;b&gt;" in page


def test_no_recognised_report_still_renders_an_empty_summary() -> None:
    page = test_reports.render(test_reports.merge(iter(()), lambda _line: None))
    assert spans(page)["tests_total_count"] == "0"
