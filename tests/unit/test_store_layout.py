"""What ties realtime's Redis layout to its readers: names, script headers, the channel layer (pure)."""

import re
from pathlib import Path

import pytest
import redis.asyncio
from channels_redis.pubsub import RedisPubSubLoopLayer

from realtime import fanout
from realtime.store import keys, scripts
from realtime.store.keys import Room

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(path.stem for path in scripts.LUA_DIR.glob("*.lua"))


def test_rooms_are_named_the_way_the_channel_layer_names_groups():
    # The scripts PUBLISH to the layer's group channels directly: pin the naming to the library's.
    layer = RedisPubSubLoopLayer(prefix="asgi")
    for room in (Room.tournament(1), Room.match(5)):
        assert room.channel == layer._get_group_channel_name(room.group)
    ns = keys.namespace()
    assert (Room.tournament(1).group, Room.tournament(1).stream) == (f"{ns}.tournament.1", "t:1")
    assert (Room.match(5).group, Room.match(5).stream) == (f"{ns}.match.5", "m:5")


def test_the_frame_message_type_is_the_same_in_lua_and_in_the_fanout():
    assert f"type = '{keys.FRAME_MESSAGE_TYPE}'" in scripts.source("flush")
    assert fanout.FRAME_MESSAGE_TYPE == keys.FRAME_MESSAGE_TYPE


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_says_what_its_keys_and_arguments_are(name):
    text = (scripts.LUA_DIR / f"{name}.lua").read_text()
    assert text.startswith(f"-- {name}: ")
    used = {int(n) for n in re.findall(r"KEYS\[(\d+)\]", text)} | {int(n) for n in re.findall(r"ARGV\[(\d+)\]", text)}
    for number in used:
        assert re.search(rf"^-- .*(KEYS|ARGV)\[{number}\]", text, re.M), f"{name}.lua uses index {number} undocumented"


@pytest.mark.parametrize("name", SCRIPTS)
def test_includes_are_expanded(name):
    assert "--#include" not in scripts.source(name)


def test_the_documented_key_table_names_every_key():
    table = (ROOT / "docs" / "architecture.md").read_text().split("## Redis keys")[1].split("\n## ")[0]

    def documented(key: str) -> str:
        return key.replace(f"{keys.PREFIX}{keys.namespace()}:", f"{keys.PREFIX}<ns>:", 1)

    for key in (keys.match_state(7), keys.tournament_state(7), keys.history(7), keys.presence("match.7")):
        family = documented(key).rsplit(":", 1)[0]  # rt:<ns>:match, rt:<ns>:presence, ...
        assert f"`{family}:<" in table, f"{family}:… is not in the table of docs/architecture.md"
    for key in (keys.pending_batches(), keys.unsaved_scores(), keys.officials(7)):
        assert f"`{documented(key).rsplit(':7', 1)[0]}" in table, key


def test_the_fanout_finds_the_layers_subscriber_connection_where_channels_redis_keeps_it():
    # realtime/fanout.py Hub._watch_reconnects: the layer's shard for a room, its redis-py PubSub, and
    # the connect callbacks redis-py runs on a reconnect (the layer's own hooks are never called).
    layer = RedisPubSubLoopLayer(prefix="asgi")
    shard = layer._get_shard(Room.tournament(1).channel)
    shard._ensure_redis()  # builds the client and its PubSub; connects nothing
    assert shard._pubsub.connection is None  # set on its first subscribe
    assert callable(redis.asyncio.Connection.register_connect_callback)
