import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tt_memoization import CacheInfo, make_key, memoize
from tt_tensor import Tensor


def counted(maxsize: int | None = 3):  # type: ignore[no-untyped-def]
    calls: list[object] = []

    @memoize(maxsize=maxsize)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    return square, calls


def test_hits_misses_and_values() -> None:
    f, calls = counted()
    assert [f(2), f(3), f(2), f(2)] == [4, 9, 4, 4]
    assert calls == [2, 3]
    info = f.cache_info()
    assert info == CacheInfo(hits=2, misses=2, maxsize=3, currsize=2)
    assert info.hit_rate == pytest.approx(0.5)


def test_lru_eviction_order() -> None:
    f, calls = counted(maxsize=3)
    for x in (1, 2, 3):
        f(x)
    f(1)  # 1 becomes the most recently used: 2 is now the oldest
    assert f.cached_keys() == [(2,), (3,), (1,)]
    f(4)  # evicts 2
    assert f.cached_keys() == [(3,), (1,), (4,)]
    assert f.cache_info().currsize == 3
    calls.clear()
    f(3), f(1), f(4)
    assert calls == []  # still cached
    f(2)
    assert calls == [2]  # was evicted, recomputed; evicts 3 (least recent)
    assert f.cached_keys() == [(1,), (4,), (2,)]
    assert f.cache_info() == CacheInfo(hits=4, misses=5, maxsize=3, currsize=3)


def test_cache_clear_resets_everything() -> None:
    f, calls = counted()
    f(1), f(1)
    f.cache_clear()
    assert f.cache_info() == CacheInfo(0, 0, 3, 0)
    f(1)
    assert calls == [1, 1]


def test_maxsize_zero_and_none() -> None:
    f, calls = counted(maxsize=0)
    f(1), f(1)
    assert calls == [1, 1] and f.cache_info() == CacheInfo(0, 2, 0, 0)
    g, gcalls = counted(maxsize=None)
    for x in range(500):
        g(x)
    for x in range(500):
        g(x)
    assert len(gcalls) == 500 and g.cache_info() == CacheInfo(500, 500, None, 500)


def test_bare_decorator_and_wraps() -> None:
    @memoize
    def add(a: int, b: int = 1) -> int:
        """Adds."""
        return a + b

    assert add(1) == 2 and add(a=1, b=2) == 3 and add(b=2, a=1) == 3
    assert add.__name__ == "add" and add.__doc__ == "Adds."
    assert add.cache_parameters() == {"maxsize": 128}
    assert add.cache_info().misses == 2 and add.cache_info().hits == 1  # keyword order is free
    add(1, 2)  # positional and keyword spellings are different keys, as in functools
    assert add.cache_info().misses == 3


def test_arrays_and_tensors_keyed_by_content() -> None:
    calls: list[int] = []

    @memoize(maxsize=8)
    def total(a: object) -> float:
        calls.append(1)
        data = a.data if isinstance(a, Tensor) else a
        return float(np.asarray(data).sum())

    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert total(x) == 15.0
    assert total(x.copy()) == 15.0  # a different object with the same content: a hit
    assert len(calls) == 1
    x[0, 0] = 100.0  # changed in place: a new key, never the stale result
    assert total(x) == 115.0 and len(calls) == 2
    assert total(x.astype(np.float64)) == 115.0 and len(calls) == 3  # dtype is in the key
    assert total(x.reshape(3, 2)) == 115.0 and len(calls) == 4  # so is the shape
    assert total(Tensor(x)) == 115.0 and len(calls) == 5  # Tensor and ndarray differ
    assert total(Tensor(x.copy())) == 115.0 and len(calls) == 5
    assert total(x.T) == 115.0 and len(calls) == 6  # non-contiguous views are digested too
    assert total(np.ascontiguousarray(x.T)) == 115.0 and len(calls) == 6


def test_nested_containers_and_unhashable() -> None:
    @memoize
    def n(a: object) -> int:
        return 1

    n([1, np.zeros(2)])
    n([1, np.zeros(2)])
    n((1, np.zeros(2)))
    n({"a": np.ones(1), "b": [2]})
    n({"b": [2], "a": np.ones(1)})
    n({1, 2})
    assert n.cache_info().hits == 2 and n.cache_info().misses == 4
    assert make_key([1, 2]) != make_key((1, 2))

    class Unhashable:
        __hash__ = None  # type: ignore[assignment]

    with pytest.raises(TypeError, match="Unhashable"):
        n(Unhashable())
    with pytest.raises(TypeError, match="object"):
        n(np.array([object()]))


def test_bad_maxsize() -> None:
    with pytest.raises(ValueError, match="-1"):
        memoize(maxsize=-1)
    with pytest.raises(TypeError, match="float"):
        memoize(maxsize=2.5)  # type: ignore[call-overload]


def test_methods_bind_self() -> None:
    class Model:
        def __init__(self, k: int) -> None:
            self.k = k

        @memoize(maxsize=4)
        def scale(self, x: int) -> int:
            return self.k * x

    a, b = Model(2), Model(3)
    assert a.scale(5) == 10 and b.scale(5) == 15 and a.scale(5) == 10
    assert Model.scale.cache_info().hits == 1


def test_thread_safe_statistics() -> None:
    f, _ = counted(maxsize=4)
    f(1)

    def work() -> None:
        for _ in range(200):
            f(1)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert f.cache_info().hits == 800 and f.cache_info().misses == 1


@settings(max_examples=60, deadline=None)
@given(
    maxsize=st.integers(0, 5),
    calls=st.lists(st.integers(0, 7), max_size=40),
)
def test_matches_a_reference_lru(maxsize: int, calls: list[int]) -> None:
    f, computed = counted(maxsize=maxsize)
    order: list[int] = []  # reference LRU: least recent first
    hits = 0
    for x in calls:
        assert f(x) == x * x
        if x in order:
            hits += 1
            order.remove(x)
            order.append(x)
        elif maxsize > 0:
            order.append(x)
            if len(order) > maxsize:
                order.pop(0)
    assert f.cached_keys() == [(x,) for x in order]
    assert f.cache_info() == CacheInfo(hits, len(calls) - hits, maxsize, len(order))
    assert len(computed) == len(calls) - hits
