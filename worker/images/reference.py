"""Splitting an image reference into what Docker's pull and push endpoints take."""

from __future__ import annotations

from dataclasses import dataclass

from tasks.contract import IMAGE_REF_RE


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
