"""The built-in stages of kernel creation (spec: kernel-lifecycle-stages.md), one class each.

A stage declares what it requires and provides, builds its spec from the kernel's context, sets
up one kind of thing and tears it down (worker/pipeline/stage.py). No stage imports the Host or
Celery: what it needs comes in its constructor (clients, pools, paths) or its spec.
`builtin.py` makes them for this host, in the spec's order.
"""
