"""Image references: what the contract accepts and how the pull/push endpoints get them."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from contract.image_reference import ImageName, TaggableImageName, parse_reference

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "ref",
    [
        "myimage",
        "myimage:latest",
        "127.0.0.1:5000/proj/x:1",
        f"a/b@{DIGEST}",
        "registry.example.com/p/n_1.2-x:v1.0",
        "localhost/x",
        "a__b/c--d:T_1",
    ],
)
def test_valid_references_are_accepted(ref: str) -> None:
    assert TypeAdapter(ImageName).validate_python(ref) == ref


@pytest.mark.parametrize(
    "ref", ["", "My", "a:b:c", "../x", "a//b", "x:", "-a", "a@b", ":t", "a b", "a/", "/a", "x:" + "t" * 129]
)
def test_invalid_references_are_refused(ref: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(ImageName).validate_python(ref)


def test_a_commit_name_cannot_be_a_digest() -> None:
    with pytest.raises(ValidationError, match="not a digest"):
        TypeAdapter(TaggableImageName).validate_python(f"img@{DIGEST}")


@pytest.mark.parametrize(
    ("ref", "repository", "pull_tag", "registry"),
    [
        ("myimage", "myimage", "latest", None),
        ("proj/x:1", "proj/x", "1", None),
        ("127.0.0.1:5000/proj/x:1", "127.0.0.1:5000/proj/x", "1", "127.0.0.1:5000"),
        (f"reg.example.com/x@{DIGEST}", "reg.example.com/x", DIGEST, "reg.example.com"),
        ("localhost/x:2", "localhost/x", "2", "localhost"),
    ],
)
def test_parse_reference_splits_what_docker_needs(
    ref: str, repository: str, pull_tag: str, registry: str | None
) -> None:
    parsed = parse_reference(ref)
    assert (parsed.repository, parsed.pull_tag, parsed.registry) == (repository, pull_tag, registry)
