"""`agentctl kernel upload|download|ls`: files in a kernel's /home/work from a shell."""

from __future__ import annotations

import argparse
import json
import posixpath
import sys
import time
from pathlib import Path
from typing import Any

from agent_client.client import AgentClient
from contract.errors import FileOperationFailed


def cmd_upload(c: AgentClient, a: argparse.Namespace) -> None:
    data = Path(a.local).read_bytes()
    dest = a.dest or posixpath.join("/home/work", Path(a.local).name)
    c.call("accept_file", kernel_id=a.kernel_id, filename=dest, filedata=data)
    a.out.result({"kernel_id": a.kernel_id, "path": dest, "bytes": len(data)}, f"uploaded {len(data)} bytes to {dest}")


def cmd_download(c: AgentClient, a: argparse.Namespace) -> None:
    out = a.output or posixpath.basename(posixpath.normpath(a.path)) + (".tar" if a.tar else "")
    if out == "-" and a.out.json:
        raise ValueError("--json writes the answer to stdout: give the file with -o FILE")
    op = "download_file" if a.tar else "download_single"
    data: bytes = c.call(op, kernel_id=a.kernel_id, filepath=a.path)
    if out == "-":
        sys.stdout.buffer.write(data)
        return
    Path(out).write_bytes(data)
    a.out.result({"kernel_id": a.kernel_id, "path": a.path, "file": out, "bytes": len(data)},
                 f"downloaded {len(data)} bytes to {out}")


def format_entry(e: dict[str, Any]) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(e["mtime"]))
    return f"{e['mode']} {e['size']:>12} {stamp} {e['filename']}"


def cmd_ls(c: AgentClient, a: argparse.Namespace) -> None:
    resp = c.call("list_files", kernel_id=a.kernel_id, path=a.path)
    if resp["errors"]:
        raise FileOperationFailed(resp["errors"])
    entries = json.loads(resp["files"])
    a.out.result(entries, "\n".join(format_entry(e) for e in entries))


def add_file_commands(kernel_sub: Any) -> None:
    """The file subcommands under `agentctl kernel`."""
    up = kernel_sub.add_parser("upload", help="upload a local file into the kernel's /home/work")
    up.add_argument("kernel_id")
    up.add_argument("local", help="local file to upload")
    up.add_argument("dest", nargs="?", help="path in the kernel (default /home/work/<local name>)")
    up.set_defaults(handler=cmd_upload)

    down = kernel_sub.add_parser("download", help="download a file (or, with --tar, a tar of a path)")
    down.add_argument("kernel_id")
    down.add_argument("path", help="path in the kernel, absolute or relative to /home/work")
    down.add_argument("-o", "--output", help="local file to write ('-' for stdout; default: the base name)")
    down.add_argument("--tar", action="store_true", help="a tar archive of a file or directory")
    down.set_defaults(handler=cmd_download)

    ls = kernel_sub.add_parser("ls", help="list a directory of the kernel")
    ls.add_argument("kernel_id")
    ls.add_argument("path", nargs="?", default="/home/work")
    ls.set_defaults(handler=cmd_ls)
