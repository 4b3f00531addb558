"""Tasks for files in kernels: accept_file, download_file, download_single, list_files."""

from __future__ import annotations

from tasks.agent_task import agent_task
from tasks.contract import AcceptFileReq, FilePathReq, ListFilesResp
from worker.files import archive, listing, upload
from worker.host import host


@agent_task("agent.accept_file", AcceptFileReq)
def accept_file(req: AcceptFileReq) -> None:
    """Write an uploaded file below the kernel's /home/work, owned by the kernel's user."""
    rec = host().registry.get(req.kernel_id)
    upload.accept_file(rec.work_dir, upload.Owner(rec.uid, rec.gid), req.filename, req.filedata,
                       host().settings.max_upload_size)


@agent_task("agent.download_file", FilePathReq)
def download_file(req: FilePathReq) -> bytes:
    """A tar archive of a file or directory below the kernel's /home/work."""
    rec = host().registry.get(req.kernel_id)
    return archive.download_file(rec.work_dir, req.filepath, host().settings.max_archive_size)


@agent_task("agent.download_single", FilePathReq)
def download_single(req: FilePathReq) -> bytes:
    """The bytes of one regular file below the kernel's /home/work."""
    rec = host().registry.get(req.kernel_id)
    return archive.download_single(rec.work_dir, req.filepath, host().settings.max_archive_size)


@agent_task("agent.list_files", FilePathReq)
def list_files(req: FilePathReq) -> ListFilesResp:
    """The entries of a directory below the kernel's /home/work."""
    rec = host().registry.get(req.kernel_id)
    return listing.list_files(rec.work_dir, req.filepath)
