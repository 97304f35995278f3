"""`mesoslab class report`: the class for grading, as JSON (a contract), CSV or JUnit XML.

JSON (issue 17)::

    {"class": "...", "learners": [{"name": "alice", "last_seen": "ISO time",
     "lessons": {"lesson-3": {"steps": {"1": "pass", "2": "fail"}, "passed": false}}}]}

A step's status is its latest verify (pass, fail or skip); steps never verified are absent;
a lesson is passed when every step that counts (not the drills) passed.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from typing import Any

from mesoslab.ops.classroom.view import ClassView, lesson_column


def to_json(view: ClassView) -> dict[str, Any]:
    learners = []
    for row in view.learners:
        lessons = {}
        for lesson in sorted(row.steps, key=lambda i: int(i.split("-")[1])):
            cells = row.steps[lesson]
            lessons[lesson] = {
                "steps": {str(n): cells[n].status for n in sorted(cells)},
                "passed": row.passed(lesson, lesson_column(lesson).counted),
            }
        learners.append({"name": row.name, "last_seen": row.last_seen, "lessons": lessons})
    return {"class": view.name, "learners": learners}


def render_json(view: ClassView) -> str:
    return json.dumps(to_json(view), indent=2, ensure_ascii=False)


def render_csv(view: ClassView) -> str:
    """One row per learner and verified step: name, last_seen, lesson, step, status,
    lesson_passed."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "last_seen", "lesson", "step", "status", "lesson_passed"])
    for learner in to_json(view)["learners"]:
        for lesson, data in learner["lessons"].items():
            for step, status in data["steps"].items():
                writer.writerow(
                    [
                        learner["name"],
                        learner["last_seen"],
                        lesson,
                        step,
                        status,
                        str(data["passed"]).lower(),
                    ]
                )
    return out.getvalue()


def render_junit(view: ClassView) -> str:
    """One testsuite per learner, one testcase per verified step."""
    doc = to_json(view)
    cases = [
        (learner, lesson, step, status)
        for learner in doc["learners"]
        for lesson, data in learner["lessons"].items()
        for step, status in data["steps"].items()
    ]
    root = ET.Element(
        "testsuites",
        name=f"mesoslab class {doc['class']}",
        tests=str(len(cases)),
        failures=str(sum(c[3] == "fail" for c in cases)),
        skipped=str(sum(c[3] == "skip" for c in cases)),
    )
    for learner in doc["learners"]:
        mine = [c for c in cases if c[0] is learner]
        suite = ET.SubElement(
            root,
            "testsuite",
            name=learner["name"],
            tests=str(len(mine)),
            failures=str(sum(c[3] == "fail" for c in mine)),
            skipped=str(sum(c[3] == "skip" for c in mine)),
            timestamp=learner["last_seen"],
        )
        for _, lesson, step, status in mine:
            case = ET.SubElement(
                suite, "testcase", classname=f"{learner['name']}.{lesson}", name=f"step {step}"
            )
            if status == "fail":
                ET.SubElement(
                    case, "failure", message=f"{lesson} step {step}: latest verify failed"
                )
            elif status == "skip":
                ET.SubElement(case, "skipped", message=f"{lesson} step {step}: checks skipped")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


RENDERERS = {"json": render_json, "csv": render_csv, "junit": render_junit}
