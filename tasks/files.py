"""Tasks for files in kernels: accept_file, download_file, download_single, list_files."""

from __future__ import annotations

from contract import operations as ops
from contract.files import AcceptFileReq, FilePathReq, ListFilesResp
from tasks.agent_task import agent_task
from worker.files import archive, listing, upload
from worker.runtime import host


@agent_task(ops.ACCEPT_FILE)
def accept_file(req: AcceptFileReq) -> None:
    """Write an uploaded file below the kernel's /home/work, owned by the kernel's user."""
    rec = host().registry.get(req.kernel_id)
    upload.accept_file(rec.work_dir, upload.Owner(rec.uid, rec.gid), req.filename, req.filedata,
                       host().settings.max_upload_size)


@agent_task(ops.DOWNLOAD_FILE)
def download_file(req: FilePathReq) -> bytes:
    """A tar archive of a file or directory below the kernel's /home/work."""
    rec = host().registry.get(req.kernel_id)
    return archive.download_file(rec.work_dir, req.filepath, host().settings.max_archive_size)


@agent_task(ops.DOWNLOAD_SINGLE)
def download_single(req: FilePathReq) -> bytes:
    """The bytes of one regular file below the kernel's /home/work."""
    rec = host().registry.get(req.kernel_id)
    return archive.download_single(rec.work_dir, req.filepath, host().settings.max_archive_size)


@agent_task(ops.LIST_FILES)
def list_files(req: FilePathReq) -> ListFilesResp:
    """The entries of a directory below the kernel's /home/work."""
    rec = host().registry.get(req.kernel_id)
    return listing.list_files(rec.work_dir, req.filepath, host().settings.max_list_entries)
