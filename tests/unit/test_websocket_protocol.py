"""The light stand-ins our uvicorn protocol uses for asyncio.Queue and asyncio.Event
(project/websocket_protocol.py): they must behave as uvicorn expects of those, in every order of events."""

from __future__ import annotations

import asyncio

import pytest

from project.websocket_protocol import Flag, ReceiveQueue


async def test_the_receive_queue_hands_out_messages_in_order_and_waits_for_the_next():
    queue = ReceiveQueue()
    assert queue.empty()
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert not queue.empty()
    assert [await queue.get(), await queue.get()] == [1, 2]
    assert queue.empty()
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    queue.put_nowait(3)
    queue.put_nowait(4)
    assert await waiting == 3
    assert await queue.get() == 4


async def test_a_cancelled_receive_loses_no_message():
    queue = ReceiveQueue()
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("first")  # the waiter is woken, but cancelled before it runs
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await queue.get() == "first"

    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    queue.put_nowait("second")
    assert await asyncio.wait_for(queue.get(), 1) == "second"


async def test_the_receive_queue_has_one_reader_at_a_time():
    queue = ReceiveQueue()
    first = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        await queue.get()
    queue.put_nowait("x")
    assert await first == "x"


async def test_the_flag_lets_waiters_through_once_set_and_holds_them_while_clear():
    flag = Flag(True)
    assert flag.is_set() and await flag.wait()
    flag.clear()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    waiters[0].cancel()  # one gives up (a send timing out): the others keep waiting
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters[1:])
    flag.set()
    assert await asyncio.gather(*waiters[1:]) == [True, True]
    assert waiters[0].cancelled()
    flag.clear()
    late = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    assert not late.done()
    flag.set()
    flag.clear()  # set, even briefly, releases whoever was waiting (as asyncio.Event does)
    assert await asyncio.wait_for(late, 1) is True
