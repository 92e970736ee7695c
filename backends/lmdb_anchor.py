"""Keep LMDB's lock table in use while the workers open and close their own handles.

Each LMDB handle holds a shared lock on the first byte of lock.mdb; a handle that closes
and finds itself the only user (it can take that byte exclusively) tears the table's
mutexes down. liblmdb 0.9.29 does so even while another process is between its own
open's two lock steps, and that process then fails with EINVAL in mdb_txn_begin: seen
when one worker closes at once (a stop request) as the other opens. The parent holding
the shared lock for the whole scan means no worker's close is ever the last.

The lock is an open-file-description lock: closing another descriptor of lock.mdb in
this process (the parent's own handles) does not drop it, and forked workers share it
without owning it. Nothing is written: a lock is not a change to the file."""
from __future__ import annotations

import fcntl
import os
import struct

_F_RDLCK_FIRST_BYTE = struct.pack("hhqqi4x", fcntl.F_RDLCK, os.SEEK_SET, 0, 1, 0)


class LockTableAnchor:
    """A shared lock on lock.mdb's first byte, held from `hold` until `release`."""

    def __init__(self, lock_path: str):
        self.lock_path = lock_path
        self.descriptor: int | None = None

    def hold(self) -> bool:
        """Take the lock if this system has OFD locks and the file allows it; False if not
        (then the scan runs as it would without it). Take it while a handle of this
        process is open: the table is live then. A table its last user tore down is set up
        again only by an open that gets the first byte exclusively, which this prevents."""
        command = getattr(fcntl, "F_OFD_SETLK", None)
        if command is None or self.descriptor is not None:
            return self.descriptor is not None
        try:
            descriptor = os.open(self.lock_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            fcntl.fcntl(descriptor, command, _F_RDLCK_FIRST_BYTE)
        except OSError:  # no lock support (some network filesystems), or a writer's
            os.close(descriptor)  # exclusive open under way: go on without
            return False
        self.descriptor = descriptor
        return True

    def release(self) -> None:
        if self.descriptor is not None:
            os.close(self.descriptor)  # the description's lock goes with its last fd
            self.descriptor = None
