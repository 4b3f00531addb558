"""Domain events: pydantic models, the Redis-stream producer and a consumer helper for managers."""
