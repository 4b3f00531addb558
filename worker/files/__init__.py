"""Files in kernels: upload, download and listing, done on the host inside a kernel's work directory.

Every operation opens the host side of /home/work once and reaches everything below it component
by component (openat with O_NOFOLLOW), so nothing the kernel's user arranges in there (symlinks,
FIFOs, a directory swapped for a link mid-operation) can lead it outside or make it block.
"""
