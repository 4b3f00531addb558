"""Host state in one embedded SQLite database (WAL): kernels, allocations, host ports, creation slots."""
