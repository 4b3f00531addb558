"""Test harness: throwaway Redis, Docker clean-up by label, the in-process worker."""
