from edgefiles.domain.key_cache import VerifiedKeys


def test_remembered_keys_expire() -> None:
    cache = VerifiedKeys()
    cache.remember("h1", "p1", "alice", now=100, ttl=60)
    assert cache.user_for("h1", now=159.9) == "alice"
    assert cache.user_for("h1", now=160) is None
    assert cache.user_for("h1", now=100) is None  # expired entries are dropped


def test_zero_ttl_remembers_nothing() -> None:
    cache = VerifiedKeys()
    cache.remember("h1", "p1", "alice", now=0, ttl=0)
    assert cache.user_for("h1", now=0) is None


def test_revoking_a_prefix_forgets_its_keys_only() -> None:
    cache = VerifiedKeys()
    cache.remember("h1", "p1", "alice", now=0, ttl=60)
    cache.remember("h2", "p2", "bob", now=0, ttl=60)
    cache.forget_prefix("p1")
    assert cache.user_for("h1", now=1) is None
    assert cache.user_for("h2", now=1) == "bob"


def test_size_is_bounded_oldest_out() -> None:
    cache = VerifiedKeys(max_entries=2)
    for i in range(3):
        cache.remember(f"h{i}", f"p{i}", f"u{i}", now=0, ttl=60)
    assert cache.user_for("h0", now=1) is None
    assert cache.user_for("h2", now=1) == "u2"
