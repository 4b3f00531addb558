"""Celery's settings for the agent (broker and backend URLs come from AgentSettings.redis_url)."""

from contract.wire import JSON_ONLY

# json only (contract/wire.py, shared with every client): broker write access must never mean code
# execution on a host holding the Docker socket.
globals().update(JSON_ONLY)

# Docker work is long and must survive a worker crash: ack after the task ran, one message at a time.
task_acks_late = True
worker_prefetch_multiplier = 1
task_reject_on_worker_lost = False
# Above the longest task (an image pull or commit), so nothing is redelivered while still running.
broker_transport_options = {"visibility_timeout": 4 * 3600}
# An idle worker's BRPOP returns every WORKER_POLLING_INTERVAL seconds (a message still arrives at
# once): 5 s rather than kombu's 1 s is most of what keeps an idle agent under one Redis command a
# second. Only the worker's (worker/app.py): a client's remote-control replies (Flower, `celery
# inspect`) are read on a reused connection, where a 5 s BRPOP left over from one call makes the next
# miss its replies.
WORKER_POLLING_INTERVAL = 5
broker_connection_retry_on_startup = True
# A task thread rides out Redis going away for about a minute (a restart, a Sentinel failover):
# sending a message (a creation's next step), storing and reading results (the agent's backend reads
# with this policy too) retry connection errors 0, 0.5, 1, 1.5, then every 2 s, 30 times.
RIDE_OUT_REDIS = {"max_retries": 30, "interval_start": 0, "interval_step": 0.5, "interval_max": 2}
task_publish_retry_policy = RIDE_OUT_REDIS
result_backend_transport_options = {"visibility_timeout": 4 * 3600, "retry_policy": RIDE_OUT_REDIS}

result_extended = True  # name/args/kwargs/queue kept with the result, so a failure can be re-sent
result_expires = 24 * 3600
task_track_started = True

# The work is I/O-bound (Docker and Unix sockets): threads, even for a plain `celery worker`
# (its concurrency is AgentSettings.concurrency, set in worker/app.py).
worker_pool = "threads"

# Flower: task events on (the CLI's -E is not needed).
worker_send_task_events = True
task_send_sent_event = True

worker_hijack_root_logger = False
worker_cancel_long_running_tasks_on_connection_loss = False
