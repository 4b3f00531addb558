"""The agent's app on its Redis: broker channels, result backend and the Host share one pool, and a
channel closed under an unacknowledged message (a lost connection, as Celery closes it) neither
puts the message back nor fails: the task that still runs acknowledges it later."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from kombu import Exchange, Queue
from kombu.transport import redis as kombu_redis

from worker.app import app
from worker.runtime import host
from worker.shared_redis.pool import shared_pool


@pytest.fixture
def queue(redis_url: str, unique: str) -> Iterator[Queue]:
    name = f"test-unacked-{unique}"
    yield Queue(name, Exchange(name, "direct"), routing_key=name)
    r = redis.Redis.from_url(redis_url)
    r.delete(name, f"_kombu.binding.{name}")
    r.close()


def test_broker_channels_results_and_the_host_share_one_connection_pool() -> None:
    with app.connection_for_write() as conn:
        assert conn.default_channel.pool is shared_pool()
    assert app.backend.client.connection_pool is shared_pool()
    assert host().redis.connection_pool is shared_pool()


def test_a_lost_connection_leaves_an_unacknowledged_message_to_its_task_which_acknowledges_it_later(
        queue: Queue, redis_url: str) -> None:
    r = redis.Redis.from_url(redis_url)
    with app.connection_for_write() as conn:
        queue(conn.default_channel).declare()
        conn.Producer().publish({"n": 1}, exchange=queue.exchange, routing_key=queue.routing_key)
        message = queue(conn.default_channel).get(no_ack=False)
        assert message is not None and r.hexists("unacked", message.delivery_tag)

        conn.collect()  # what Celery does when the broker connection is lost: channels, then the transport
        conn.close()    # and then this, which closed the channel again and raised AttributeError
        with pytest.raises(redis.ConnectionError):
            message.channel._connparams()  # a closed transport's parameters: a connection error, not a crash
        assert r.llen(queue.name) == 0  # not put back: its task still runs here
        assert r.hexists("unacked", message.delivery_tag)

        message.ack()  # the task ends and acknowledges through the shared pool
    assert not r.hexists("unacked", message.delivery_tag)
    r.close()


def test_a_message_taken_just_as_redis_goes_away_still_reaches_its_consumer(
        queue: Queue, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    r = redis.Redis.from_url(redis_url)
    with app.connection_for_write() as conn:
        queue(conn.default_channel).declare()
        conn.Producer().publish({"n": 2}, exchange=queue.exchange, routing_key=queue.routing_key)

        def refused(*args: object, **kwargs: object) -> None:
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

        monkeypatch.setattr(kombu_redis.QoS, "append", refused)  # recording it as unacknowledged fails
        message = queue(conn.default_channel).get(no_ack=False)
        assert message is not None and message.payload == {"n": 2}  # kombu's own QoS dropped it here
        assert not r.hexists("unacked", message.delivery_tag) and r.llen(queue.name) == 0
        message.ack()
    r.close()
