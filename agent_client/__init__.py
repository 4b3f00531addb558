"""What a manager installs to drive agents: `AgentClient`, the images helpers, the events readers and
`agentctl`. It imports the contract, Celery and redis, never docker or the worker."""

from agent_client.client import AgentClient, make_client_app

__all__ = ["AgentClient", "make_client_app"]
