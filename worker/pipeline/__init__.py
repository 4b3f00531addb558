"""The kernel-creation pipeline as a framework: stages declared once (what each requires and
provides), a graph built from the declarations, and an executor that runs every stage whose
requirements are met, several at once, saving the context after each and tearing down in reverse.

It knows nothing of Docker, the host or Celery: the stages themselves are in worker/stages/.
"""
