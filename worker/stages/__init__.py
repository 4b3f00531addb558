"""The Stage/Provisioner pipeline of kernel creation (spec: kernel-lifecycle-stages.md).

A Provisioner has `setup(spec) -> resource` and `teardown(resource)`; a Stage drives one
provisioner: it builds the spec from the shared KernelContext and records the resource there.
No stage imports the agent's Host or Celery: what a provisioner needs comes in its constructor
(clients, paths) or its spec.
"""
