"""gpucell.communication: the process group and its collectives, with MindSpore's names.

Launch with ``mpiexec -n 2 python train.py`` (install ``gpucell[mpi]``); ``init()`` joins the group.
"""

from gpucell.communication.management import (
    GlobalComm,
    get_group_size,
    get_local_rank,
    get_local_rank_size,
    get_rank,
    init,
    release,
)

__all__ = ["GlobalComm", "init", "release", "get_rank", "get_group_size", "get_local_rank",
           "get_local_rank_size"]
