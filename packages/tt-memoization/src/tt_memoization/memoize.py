"""`memoize`: a bounded least-recently-used cache for pure functions, with statistics.

Memoization trades memory for time: a call whose arguments were seen before
returns the stored result instead of recomputing it. It is only correct for
functions whose result depends on nothing but their arguments.

The difference from `functools.lru_cache` is the key. NumPy arrays and
`Tensor`s are unhashable (they are mutable), so `lru_cache` refuses them; here
they are keyed by their **content**: dtype, shape and a BLAKE2b digest of their
bytes. Two equal arrays are the same key even if they are different objects,
and an array changed in place after a call is a new key, so a stale result is
never returned. Digesting costs one pass over the bytes per call (cheap next to
most work worth memoizing, not free for huge arrays). Lists, tuples, sets and
dicts are keyed by their contents recursively. Anything else must be hashable.

The cached result is returned as is, not copied: do not modify it in place.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, NamedTuple, ParamSpec, TypeVar, overload

import numpy as np
from tt_tensor import Tensor

P = ParamSpec("P")
R = TypeVar("R")


class CacheInfo(NamedTuple):
    """The statistics `cache_info()` returns, named as in `functools`."""

    hits: int
    misses: int
    maxsize: int | None
    currsize: int

    @property
    def hit_rate(self) -> float:
        """hits / (hits + misses); 0.0 before the first call."""
        calls = self.hits + self.misses
        return self.hits / calls if calls else 0.0


def _array_key(kind: str, a: np.ndarray[Any, Any]) -> tuple[Hashable, ...]:
    if a.dtype.hasobject:
        raise TypeError(f"memoize cannot key an array of Python objects (dtype {a.dtype})")
    data = np.ascontiguousarray(a)
    digest = hashlib.blake2b(data.view(np.uint8).reshape(-1).data, digest_size=16).hexdigest()
    return (kind, a.dtype.str, a.shape, digest)


def make_key(value: Any) -> Hashable:
    """The hashable key `memoize` uses for one argument (see the module docstring).

    Tags keep keys of different kinds apart: the list ``[1, 2]`` and the tuple
    ``(1, 2)`` are different keys, as are an array and a Tensor with equal data.
    """
    if isinstance(value, Tensor):
        return _array_key("Tensor", value.data)
    if isinstance(value, np.ndarray):
        return _array_key("ndarray", value)
    if isinstance(value, tuple):
        return ("tuple", *(make_key(v) for v in value))
    if isinstance(value, list):
        return ("list", *(make_key(v) for v in value))
    if isinstance(value, dict):
        items = sorted(((make_key(k), make_key(v)) for k, v in value.items()), key=repr)
        return ("dict", *items)
    if isinstance(value, set | frozenset):
        return (type(value).__name__, frozenset(make_key(v) for v in value))
    try:
        hash(value)
    except TypeError:
        raise TypeError(
            f"memoize cannot key an argument of type {type(value).__name__}: it is unhashable "
            "and not an array, Tensor, list, tuple, set or dict"
        ) from None
    return value  # type: ignore[no-any-return]


def _call_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Hashable:
    """Positional arguments in order, keyword arguments sorted by name (so their order in
    the call does not matter; as in functools, f(1, b=2) and f(1, 2) are different keys)."""
    key = tuple(make_key(a) for a in args)
    if kwargs:
        key += (_KWARGS_MARK, *((k, make_key(kwargs[k])) for k in sorted(kwargs)))
    return key


_KWARGS_MARK = object()


class Memoized(Generic[P, R]):
    """A function wrapped by `memoize`: call it as the function, plus `cache_info()`,
    `cache_clear()`, `cache_parameters()` and `__wrapped__` as in `functools.lru_cache`."""

    def __init__(self, fn: Callable[P, R], maxsize: int | None) -> None:
        self.__wrapped__ = fn
        self.__name__: str = getattr(fn, "__name__", type(fn).__name__)
        self.maxsize = maxsize
        self._cache: OrderedDict[Hashable, R] = OrderedDict()
        self._hits = 0
        self._misses = 0
        self._lock = threading.RLock()
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        key = _call_key(args, kwargs)
        with self._lock:
            if key in self._cache:
                self._hits += 1
                self._cache.move_to_end(key)  # now the most recently used
                return self._cache[key]
            self._misses += 1
        # Computed outside the lock: a slow function must not block other callers (two
        # threads missing on the same key both compute it, as with functools.lru_cache).
        result = self.__wrapped__(*args, **kwargs)
        with self._lock:
            if self.maxsize is None or self.maxsize > 0:
                self._cache[key] = result
                self._cache.move_to_end(key)
                if self.maxsize is not None and len(self._cache) > self.maxsize:
                    self._cache.popitem(last=False)  # evict the least recently used
        return result

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> Memoized[P, R]: ...

    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> Callable[..., R]: ...

    def __get__(
        self, obj: object, objtype: type | None = None
    ) -> Memoized[P, R] | Callable[..., R]:
        """Bind as a method when used inside a class (`self` is then part of the key);
        accessed on the class it is the `Memoized` itself, with `cache_info()`."""
        if obj is None:
            return self
        return functools.partial(self, obj)  # type: ignore[arg-type]

    def cache_info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self._hits, self._misses, self.maxsize, len(self._cache))

    def cache_clear(self) -> None:
        """Forget every stored result and reset the statistics."""
        with self._lock:
            self._cache.clear()
            self._hits = self._misses = 0

    def cache_parameters(self) -> dict[str, Any]:
        return {"maxsize": self.maxsize}

    def cached_keys(self) -> list[Hashable]:
        """Keys from least to most recently used: the next eviction is the first."""
        with self._lock:
            return list(self._cache)


def _check_maxsize(maxsize: object) -> int | None:
    if maxsize is None:
        return None
    if isinstance(maxsize, bool) or not isinstance(maxsize, int | np.integer):
        raise TypeError(f"maxsize must be an int or None, got {type(maxsize).__name__}")
    if maxsize < 0:
        raise ValueError(f"maxsize must be >= 0 (0 disables caching), got {maxsize}")
    return int(maxsize)


@overload
def memoize(fn: Callable[P, R], /) -> Memoized[P, R]: ...


@overload
def memoize(*, maxsize: int | None = 128) -> Callable[[Callable[P, R]], Memoized[P, R]]: ...


def memoize(
    fn: Callable[P, R] | None = None, /, *, maxsize: int | None = 128
) -> Memoized[P, R] | Callable[[Callable[P, R]], Memoized[P, R]]:
    """Cache a pure function's results, least recently used first out.

    ``@memoize`` or ``@memoize(maxsize=32)``. At most `maxsize` results are kept
    (None: no bound; 0: nothing is stored, calls are only counted). Arguments are
    keyed as `make_key` describes: arrays and Tensors by content.
    """
    size = _check_maxsize(maxsize)

    def decorate(f: Callable[P, R]) -> Memoized[P, R]:
        if not callable(f):
            raise TypeError(f"memoize expects a callable, got {type(f).__name__}")
        return Memoized(f, size)

    if fn is not None:
        return decorate(fn)
    return decorate
