"""Image references: Docker's grammar, the validated name types, and splitting a reference into
what Docker's pull and push endpoints take."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, Field, StrictStr

# Docker's reference grammar (distribution/reference): [domain[:port]/]path[:tag][@digest].
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]{{1,5}})?"
_IMAGE_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_REF_RE = re.compile(rf"^(?P<name>{_IMAGE_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$")


def _image_reference(ref: str) -> str:
    m = IMAGE_REF_RE.match(ref)
    if m is None or len(m["name"]) > 255:
        raise ValueError(f"{ref!r} is not a valid image reference ([registry[:port]/]name[:tag][@digest])")
    return ref


def _taggable_reference(ref: str) -> str:
    if "@" in _image_reference(ref):
        raise ValueError(f"{ref!r} must be a name with an optional tag, not a digest reference")
    return ref


ImageName = Annotated[
    StrictStr, Field(max_length=512, description="an image reference"), AfterValidator(_image_reference)
]
# What a commit may name its image: a repository with an optional tag (a digest cannot be given).
TaggableImageName = Annotated[
    StrictStr, Field(max_length=512, description="repository[:tag]"), AfterValidator(_taggable_reference)
]


@dataclass(frozen=True)
class Reference:
    repository: str  # [registry[:port]/]path
    tag: str | None
    digest: str | None

    @property
    def registry(self) -> str | None:
        """The registry host of the reference, or None for Docker's default registry."""
        first, _, rest = self.repository.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            return first
        return None

    @property
    def pull_tag(self) -> str:
        """What `POST /images/create` takes as `tag`: the digest when there is one, else the tag."""
        return self.digest or self.tag or "latest"


def parse_reference(ref: str) -> Reference:
    """`Reference` of a valid image reference; ValueError naming it otherwise."""
    m = IMAGE_REF_RE.match(ref)
    if m is None:
        raise ValueError(f"{ref!r} is not a valid image reference")
    return Reference(m["name"], m["tag"], m["digest"])
