"""Resource slots of this host (cpu, mem, accelerators) and their allocation to kernels."""
