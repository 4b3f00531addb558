"""`agentctl`: drive one host's agent from a shell."""
