"""``cupy.cuda.MemoryHook``: callbacks around the pool's malloc and free, per thread."""

from __future__ import annotations

import threading

from gpucell.backend.sim import _context

__all__ = ["MemoryHook", "get_memory_hooks", "malloc_pre", "malloc_post", "free_pre", "free_post"]

_tls = threading.local()


def get_memory_hooks() -> dict:
    hooks = getattr(_tls, "hooks", None)
    if hooks is None:
        hooks = _tls.hooks = {}
    return hooks


class MemoryHook:
    """Base class of memory hooks: ``with hook:`` installs it on this thread (see CuPy's docs)."""

    name = "MemoryHook"

    def __enter__(self):
        hooks = get_memory_hooks()
        if self.name in hooks:
            raise RuntimeError(f"hook {self.name} already exists")
        hooks[self.name] = self
        return self

    def __exit__(self, *_):
        del get_memory_hooks()[self.name]

    def alloc_preprocess(self, **kwargs):
        pass

    def alloc_postprocess(self, **kwargs):
        pass

    def malloc_preprocess(self, **kwargs):
        pass

    def malloc_postprocess(self, **kwargs):
        pass

    def free_preprocess(self, **kwargs):
        pass

    def free_postprocess(self, **kwargs):
        pass


def malloc_pre(size: int, rounded: int) -> None:
    hooks = getattr(_tls, "hooks", None)
    if hooks:
        for hook in list(hooks.values()):
            hook.malloc_preprocess(device_id=_context.get_device_id(), size=size, mem_size=rounded)


def malloc_post(size: int, rounded: int, pointer) -> None:
    hooks = getattr(_tls, "hooks", None)
    if hooks:
        for hook in list(hooks.values()):
            hook.malloc_postprocess(device_id=_context.get_device_id(), size=size, mem_size=rounded,
                                    mem_ptr=pointer.ptr, pmem_id=id(pointer.mem))


def free_pre(size: int, pointer: int, pmem_id: int) -> None:
    hooks = getattr(_tls, "hooks", None)
    if hooks:
        for hook in list(hooks.values()):
            hook.free_preprocess(device_id=_context.get_device_id(), mem_size=size, mem_ptr=pointer, pmem_id=pmem_id)


def free_post(size: int, pointer: int, pmem_id: int) -> None:
    hooks = getattr(_tls, "hooks", None)
    if hooks:
        for hook in list(hooks.values()):
            hook.free_postprocess(device_id=_context.get_device_id(), mem_size=size, mem_ptr=pointer, pmem_id=pmem_id)
