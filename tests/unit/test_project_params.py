"""CreateProject / UpdateProject / ListProjects parameters (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from imm_engine.api.params import Params
from imm_engine.api.project_params import list_projects_query, project_fields
from imm_engine.errors import ApiError
from imm_engine.state.projects import Project


def params(**values: str) -> Params:
    return Params(list(values.items()))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, {}),
        ({"ServiceRole": "MyRole"}, {"service_role": "MyRole"}),
        (
            {"ServiceRole": "acs:ram::1234:role/my.role"},
            {"service_role": "acs:ram::1234:role/my.role"},
        ),
        ({"Description": "d" * 256}, {"description": "d" * 256}),
        ({"Description": "说明" * 128}, {"description": "说明" * 128}),
        ({"TemplateId": "Official:ImageManagement"}, {"template_id": "Official:ImageManagement"}),
        ({"DatasetMaxBindCount": "10"}, {"dataset_max_bind_count": 10}),
        ({"ProjectMaxDatasetCount": "1"}, {"project_max_dataset_count": 1}),
        (
            {"DatasetMaxTotalFileSize": "90000000000000000"},
            {"dataset_max_total_file_size": 9 * 10**16},
        ),
        (
            {"Tag": '[{"Key":"env","Value":"prod"},{"Key":"k"}]'},
            {"tags": [{"Key": "env", "Value": "prod"}, {"Key": "k", "Value": ""}]},
        ),
    ],
)
def test_project_fields(given: dict[str, str], expected: dict[str, Any]) -> None:
    assert project_fields(params(**given)) == expected


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ({"ServiceRole": "has space"}, "InvalidArgument"),
        ({"ServiceRole": "r" * 65}, "InvalidArgument"),
        ({"Description": "d" * 257}, "InvalidArgument"),
        ({"DatasetMaxBindCount": "11"}, "InvalidArgument"),
        ({"DatasetMaxBindCount": "0"}, "InvalidArgument"),
        ({"ProjectMaxDatasetCount": "1000000001"}, "InvalidArgument"),
        ({"DatasetMaxFileCount": "many"}, "InvalidArgument"),
        ({"Tag": "{}"}, "InvalidArgument"),
        ({"Tag": "[not json"}, "InvalidJSON"),
        ({"Tag": '[{"Value":"v"}]'}, "InvalidArgument"),
        ({"Tag": '[{"Key":"k","Value":1}]'}, "InvalidArgument"),
        ({"Tag": '[{"Key":"k"},{"Key":"k"}]'}, "InvalidArgument"),
        ({"Tag": "[" + ",".join(f'{{"Key":"k{i}"}}' for i in range(21)) + "]"}, "InvalidArgument"),
    ],
)
def test_bad_project_fields_are_refused(given: dict[str, str], code: str) -> None:
    with pytest.raises(ApiError) as info:
        project_fields(params(**given))
    assert info.value.code == code
    assert next(iter(given)) in info.value.message


@pytest.mark.parametrize(
    ("given", "prefix", "count", "token"),
    [
        ({}, "", 100, None),
        ({"MaxResults": "0"}, "", 100, None),
        ({"MaxResults": "200", "Prefix": "te", "NextToken": "test-b"}, "te", 200, "test-b"),
    ],
)
def test_list_projects_query(
    given: dict[str, str], prefix: str, count: int, token: str | None
) -> None:
    q = list_projects_query(params(**given))
    assert (q.prefix, q.max_results, q.next_token) == (prefix, count, token)


def test_list_projects_max_results_is_bounded() -> None:
    with pytest.raises(ApiError):
        list_projects_query(params(MaxResults="201"))


def test_project_round_trips_and_shows_imm_fields() -> None:
    project = Project(
        name="p", create_ts=1700000000.5, update_ts=1700000001.25, tags=[{"Key": "a", "Value": "b"}]
    )
    again = Project.from_fields(project.to_fields())
    assert again == project
    info = again.info()
    assert info["ServiceRole"] == "AliyunIMMDefaultRole"
    assert info["CreateTime"] == "2023-11-14T22:13:20.500000Z"
    assert info["Tags"] == [{"TagKey": "a", "TagValue": "b"}]
    assert info["DatasetMaxBindCount"] == 10 and info["ProjectMaxDatasetCount"] == 10**9


@pytest.mark.parametrize(
    ("wanted", "matches"),
    [
        ([], True),
        ([{"Key": "env"}], True),
        ([{"Key": "env", "Value": "prod"}], True),
        ([{"Key": "env", "Value": "dev"}], False),
        ([{"Key": "team"}], False),
        ([{"Key": "env", "Value": "prod"}, {"Key": "owner", "Value": "me"}], True),
    ],
)
def test_project_tag_filter(wanted: list[dict[str, str]], matches: bool) -> None:
    project = Project(
        name="p",
        create_ts=0,
        update_ts=0,
        tags=[{"Key": "env", "Value": "prod"}, {"Key": "owner", "Value": "me"}],
    )
    assert project.has_tags(wanted) is matches
