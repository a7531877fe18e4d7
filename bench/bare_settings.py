"""Settings of the bare-Channels baseline (bench/bare_asgi.py): the project's, with the channel layer
chosen by BENCH_LAYER (core | pubsub)."""

import os

from project.settings import *  # noqa: F403
from project.settings import REDIS_URL

CHANNEL_LAYERS = {
    "default": {
        "core": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}},
        "pubsub": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}]},
        },
    }[os.environ.get("BENCH_LAYER", "pubsub")]
}
