"""The agent's errors, each a subclass of the spec's type, and how they cross Celery.

Clients that know nothing of this package (the celery CLI, Flower, another language) should still
see the spec's type: `as_spec_error` turns any of ours into the builtin it derives from, keeping
the message, before the exception is stored in the result backend.
"""

from __future__ import annotations

SPEC_TYPES: tuple[type[Exception], ...] = (
    PermissionError,
    KeyError,
    ValueError,
    TimeoutError,
    RuntimeError,
)


class AgentError(Exception):
    """Base of every error the agent raises on purpose."""


class InvalidInput(AgentError, ValueError):
    """A task's input failed validation; nothing on the host was changed."""


class KernelNotFound(AgentError, KeyError):
    def __init__(self, kernel_id: str) -> None:
        super().__init__(f"kernel {kernel_id} is not known to this agent")
        self.kernel_id = kernel_id

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class KernelIdInUse(AgentError, ValueError):
    """A creation named a kernel id that another creation on this host already holds."""


class KernelGone(AgentError, RuntimeError):
    def __init__(self, kernel_id: str) -> None:
        super().__init__(f"kernel {kernel_id} was destroyed while it was being created")
        self.kernel_id = kernel_id


class NetworkError(AgentError, RuntimeError):
    """A Docker network could not be created or removed."""


class ResourceExhausted(AgentError, RuntimeError):
    """The host cannot give the resources a kernel asks for."""


class UnsupportedResource(AgentError, ValueError):
    """A kernel asked for a resource slot this host does not have."""


class ImageNotAvailable(AgentError, RuntimeError):
    """The image is not on the host and cannot be pulled."""


class ImagePullFailed(AgentError, RuntimeError):
    """Pulling an image from its registry failed or ran past its timeout."""


class ImagePushFailed(AgentError, RuntimeError):
    """Pushing an image was refused (credentials, registry error) or ran past its timeout."""


class CommitFailed(AgentError, RuntimeError):
    """Committing or exporting a kernel's container failed; nothing of it was kept."""


class OutsideCommitPath(AgentError, PermissionError):
    """A commit's subdir or filename resolves outside the configured commit path."""


class KernelCreationFailed(AgentError, RuntimeError):
    """A kernel could not be created; everything made for it was torn down."""


class KernelStartFailed(AgentError, RuntimeError):
    """The kernel's container started but its runner never answered."""


class OutsideWorkDir(AgentError, PermissionError):
    """A file operation pointed outside the kernel's /home/work."""


class ArchiveTooLarge(AgentError, ValueError):
    """A file or archive is over the configured size limit."""


class NotASingleFile(AgentError, ValueError):
    """download_single was pointed at something other than one regular file."""


class FileOperationFailed(AgentError, RuntimeError):
    """A file operation in a kernel's work directory failed on the host (missing path, OS error)."""


class AgentUnavailable(AgentError, RuntimeError):
    """No live worker consumes the host's queue."""


def spec_type(exc: BaseException) -> type[Exception]:
    """The spec type an exception belongs to (RuntimeError when it is none of them)."""
    for kind in SPEC_TYPES:
        if isinstance(exc, kind):
            return kind
    return RuntimeError


def as_spec_error(exc: BaseException) -> Exception:
    """A builtin exception of `exc`'s spec type with a message a person understands."""
    kind = spec_type(exc)
    if type(exc) is kind:
        return exc  # already a plain builtin
    if isinstance(exc, AgentError):
        return kind(str(exc))
    detail = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    return kind(f"{type(exc).__name__}: {detail}")


class KernelUnavailable(AgentError, RuntimeError):
    """Code cannot run in the kernel: it is unknown here, or its container is not running."""


class CodeTooLarge(AgentError, ValueError):
    """Code (or input text) sent to a kernel is over `max_code_size`."""


class RestartTimeout(AgentError, TimeoutError):
    """The old container of a restarting kernel did not go in time; the kernel was cleaned."""
