"""The one Redis setting: a plain URL passes through; a Sentinel URL names every sentinel, the
master, the db and the servers' credentials, and what Celery needs from it; bad ones say why."""

from __future__ import annotations

import pytest

from contract.redis_target import celery_redis_settings, parse_redis_url


def test_a_plain_url_is_used_as_it_is_by_broker_and_backend() -> None:
    target = parse_redis_url("redis://:pw@redis.internal:6380/2")
    assert not target.uses_sentinel and target.transport_options == {}
    assert celery_redis_settings(target)["broker_url"] == "redis://:pw@redis.internal:6380/2"
    assert celery_redis_settings(target)["result_backend"] == "redis://:pw@redis.internal:6380/2"


def test_a_sentinel_url_names_every_sentinel_the_master_the_db_and_the_password() -> None:
    target = parse_redis_url("sentinel://:s3cret@10.0.0.1:26379;sentinel://10.0.0.2;"
                             "sentinel://10.0.0.3:26380/3?master_name=agents")
    assert target.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26379), ("10.0.0.3", 26380))
    assert (target.master_name, target.db, target.password) == ("agents", 3, "s3cret")
    conf = celery_redis_settings(target)
    assert conf["broker_url"] == "sentinel://:s3cret@10.0.0.1:26379;sentinel://10.0.0.2;sentinel://10.0.0.3:26380/3"
    assert conf["broker_transport_options"] == conf["result_backend_transport_options"] == {"master_name": "agents"}


@pytest.mark.parametrize("url, says", [
    ("sentinel://10.0.0.1:26379/0", "master_name"),
    ("sentinel://10.0.0.1:26379;redis://10.0.0.2:6379?master_name=m", "every part"),
    ("sentinel://10.0.0.1:26379/zero?master_name=m", "db must be a number"),
])
def test_a_bad_sentinel_url_is_refused_saying_why(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_redis_url(url)
