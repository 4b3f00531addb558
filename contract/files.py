"""Requests and responses of the file operations in a kernel's /home/work."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, Field, StrictStr

from contract.common import KernelId, Request


class AcceptFileReq(Request):
    kernel_id: KernelId
    filename: StrictStr = Field(min_length=1, max_length=4096)
    filedata: bytes


class FilePathReq(Request):
    kernel_id: KernelId
    filepath: StrictStr = Field(min_length=1, max_length=4096,
                                validation_alias=AliasChoices("filepath", "path"))


class ListFilesResp(BaseModel):
    files: str
    errors: str
    abspath: str
    truncated: bool = False  # the directory has more entries than the agent lists (max_list_entries)
