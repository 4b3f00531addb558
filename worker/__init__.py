"""The agent runtime on one host: config, Docker adapter, stages, resources, registry, events."""
