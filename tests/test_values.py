from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesoslab.checks.values import (
    format_ranges,
    image_matches,
    parse_duration,
    parse_ranges,
    parse_set,
    ports_from_resources_flag,
    ranges_contain,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("600secs", "10mins"),
        ("1mins", "60secs"),
        ("2hrs", "120mins"),
        ("1weeks", "7days"),
        ("500ms", "0.5secs"),
    ],
)
def test_durations_compare_by_meaning(a: str, b: str) -> None:
    assert parse_duration(a) == parse_duration(b)


def test_durations_differ() -> None:
    assert parse_duration("5mins") != parse_duration("10mins")


@pytest.mark.parametrize("bad", ["", "ten minutes", "10 parsecs", "mins"])
def test_bad_duration(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_ranges_parse_mesos_and_flag_forms_equal() -> None:
    printed = parse_ranges("[21000-24000, 30000-64000]")
    flag = parse_ranges("[30000-64000,21000-24000]")
    assert printed == flag == ((21000, 24000), (30000, 64000))
    assert format_ranges(printed) == "[21000-24000, 30000-64000]"


def test_ranges_merge_adjacent_and_single_ports() -> None:
    assert parse_ranges("[31000-31500, 31501-32000]") == ((31000, 32000),)
    assert parse_ranges("[31915-31915]") == ((31915, 31915),)
    assert parse_ranges("31915") == ((31915, 31915),)
    assert parse_ranges("[]") == ()


def test_default_range_is_not_custom_range() -> None:
    assert parse_ranges("[31000-32000]") != parse_ranges("[21000-24000, 30000-64000]")


@pytest.mark.parametrize("bad", ["[a-b]", "[5-1]", "[1-2,,3]"])
def test_bad_ranges(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_ranges(bad)


@given(st.lists(st.tuples(st.integers(1, 65535), st.integers(0, 500)), min_size=1, max_size=8))
def test_ranges_roundtrip(spans: list[tuple[int, int]]) -> None:
    ranges = parse_ranges(",".join(f"{b}-{b + w}" for b, w in spans))
    assert parse_ranges(format_ranges(ranges)) == ranges
    for b, w in spans:
        assert ranges_contain(ranges, b) and ranges_contain(ranges, b + w)


def test_sets() -> None:
    assert parse_set("docker,mesos") == parse_set("mesos, docker")
    assert parse_set("{a, b}") == {"a", "b"}
    assert parse_set("docker") != parse_set("docker,mesos")


def test_ports_from_resources_flag_json_and_text() -> None:
    seed = """[
     {"name": "ports", "type": "RANGES",
      "ranges": {"range": [{"begin": 21000, "end": 24000}, {"begin": 30000, "end": 64000}]}}
    ]"""
    assert ports_from_resources_flag(seed) == ((21000, 24000), (30000, 64000))
    assert ports_from_resources_flag("cpus:2;ports:[1025-2180,2182-3887]") == (
        (1025, 2180),
        (2182, 3887),
    )
    assert ports_from_resources_flag("cpus:2;mem:1024") is None


@pytest.mark.parametrize(
    ("reference", "wanted", "same"),
    [
        ("nginx", "nginx:latest", True),
        ("docker.io/library/nginx:latest", "nginx", True),
        ("library/busybox", "busybox:latest", True),
        ("nginx:1.22", "nginx", False),
        ("master1:5000/nginx", "nginx", False),  # another registry is another image
        ("master1:5000/nginx", "master1:5000/nginx:latest", True),
        ("python:3", "python:3.11", False),
    ],
)
def test_image_names_compare_as_docker_names_them(reference: str, wanted: str, same: bool) -> None:
    assert image_matches(reference, wanted) is same
