"""Verify results rendered for people and machines: text, JSON (a contract), JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from mesoslab.checks.result import CheckResult, Status
from mesoslab.lessons.verify import VerifyReport

MARKS = {Status.PASS: "✔", Status.FAIL: "✘", Status.SKIP: "–"}


def to_json(report: VerifyReport) -> dict[str, Any]:
    """The document of ``mesoslab verify --format json`` (DESIGN §4)."""
    return {
        "lesson": report.lesson,
        "title": report.title,
        "passed": report.passed,
        "steps": [
            {
                "step": s.step,
                "title": s.title,
                "passed": s.passed,
                "checks": [r.to_json() for r in s.results],
            }
            for s in report.steps
        ],
    }


def render_json(report: VerifyReport) -> str:
    return json.dumps(to_json(report), indent=2, ensure_ascii=False)


def render_junit(report: VerifyReport) -> str:
    """JUnit XML: one testsuite per step, one testcase per check (CI servers read it)."""
    counts = report.counts()
    root = ET.Element(
        "testsuites",
        name=f"mesoslab {report.lesson}",
        tests=str(sum(counts.values())),
        failures=str(counts[Status.FAIL]),
        skipped=str(counts[Status.SKIP]),
    )
    for step in report.steps:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"{report.lesson} step {step.step}: {step.title}",
            tests=str(len(step.results)),
            failures=str(sum(r.status is Status.FAIL for r in step.results)),
            skipped=str(sum(r.status is Status.SKIP for r in step.results)),
            time=f"{max((r.elapsed_s for r in step.results), default=0.0):.2f}",
        )
        for result in step.results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{report.lesson}.step{step.step}",
                name=f"{result.kind} [{result.node}]",
                time=f"{result.elapsed_s:.2f}",
            )
            if result.status is Status.FAIL:
                failure = ET.SubElement(case, "failure", message=result.summary)
                failure.text = _details(result)
            elif result.status is Status.SKIP:
                ET.SubElement(case, "skipped", message=result.summary)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _details(result: CheckResult) -> str:
    lines = [result.summary]
    if result.expected:
        lines.append(f"expected: {result.expected}")
    if result.observed:
        lines.append(f"observed: {result.observed}")
    if result.hint:
        lines.append(f"hint: {result.hint}")
    lines.append(f"attempts: {result.attempts}, {result.elapsed_s:.1f}s")
    return "\n".join(lines)


def result_lines(result: CheckResult) -> list[str]:
    """Plain text for one result: a mark line, then expected/observed/hint on failure."""
    lines = [f"  {MARKS[result.status]} {result.kind} [{result.node}] {result.summary}"]
    if result.status is Status.FAIL:
        if result.expected:
            lines.append(f"      expected: {result.expected}")
        if result.observed:
            lines.append(f"      observed: {result.observed}")
        if result.hint:
            lines.append(f"      hint: {result.hint}")
    return lines


def render_text(report: VerifyReport) -> str:
    out = [f"{report.lesson}: {report.title}"]
    for step in report.steps:
        outcome = "skipped" if step.skipped else "passed" if step.passed else "FAILED"
        out.append(f"Step {step.step}: {step.title} — {outcome}")
        for result in step.results:
            out.extend(result_lines(result))
    counts = report.counts()
    out.append(
        f"{'PASSED' if report.passed else 'FAILED'}: {counts[Status.PASS]} passed, "
        f"{counts[Status.FAIL]} failed, {counts[Status.SKIP]} skipped"
    )
    return "\n".join(out)
