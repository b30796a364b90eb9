"""connector-zmq: brokerless channels between processes over ZeroMQ (backend `zmq`).

Topology (one connection = one `ZMQConnector`, any number of senders and receivers, in any
processes, pipeline or pubsub):

- **Rendezvous** (control plane only): a thread of the process that created the connector,
  bound to `ZMQSettings.bind_host` (127.0.0.1 by default) on a free port, started the first
  time that process connects, reads `zmq_address` or pickles the connector. Its address,
  the signing key and the spec travel inside the pickled connector, which is how a process
  that only has the unpickled copy finds the connection. It tracks who is connected and
  tells senders about receivers; it never forwards items (see `connector_zmq.rendezvous`).
- **Receivers bind**: each receiver binds its own ROUTER socket (same interface, free port)
  and registers its address. **Senders connect**: one DEALER per receiver, so items travel
  straight from the sender's process to the receiver's: no proxy, no forwarding loop. The
  one exception is rare and bounded: items a closing pipeline receiver hands back (and
  items a sender still holds when it closes with no receiver connected) travel once through
  the rendezvous to the next receiver. A sender of the receiver's own process connects to
  an `inproc://` endpoint of the same socket instead of its TCP port, so nothing is copied
  through the kernel (`connector_zmq.inproc`; `ZMQSettings.in_process`).
- **Where items wait**: in the sender's outbox (core's `Outbox`), which counts the items
  waiting there *and* those sent but not yet credited back, so `maxsize` bounds everything
  between one sender and its receivers; on the wire and in a receiver's queue at most its
  *credit window* per sender (`maxsize`), of which an open pipeline sender uses a quarter
  (the rest waits in its outbox; a closing sender uses all of it, so `close()` returns
  without waiting for receivers to take items). All of these count items, not frames: a
  frame `send_many()` sealed with `n` items (at most `protocol.batch_items()`) takes `n` of
  each. Receivers return credits as their user takes items, so a slow receiver holds its
  senders back; nothing is dropped (pubsub waits for the slowest subscriber). Batches form
  only while the sender is busy: a lone item leaves at once, with no timer.
- **Pipeline**: each batch goes to one receiver with credit (round robin, a burst shared
  out among them). **Pubsub**: each item goes to every receiver connected when it is sent.
  `connect_recv()` returns only after every live sender has connected to the new receiver
  (its HELLO arrived), and `connect_send()` knows every live receiver: no slow-joiner loss,
  no sleeps.
- **Close**: a sender's `close()` flushes its queue, sends END after its last item on
  every link, keeps each link open until its receiver has read that END (TCP would drop
  what is still on the wire of a socket closed too early; `connector_zmq.closing`) and
  leaves; when the last sender has left, the rendezvous tells the receivers,
  and each ends once it has every END and nothing queued (pipeline: once *all* receivers
  are drained, so that items returned by a closing receiver still reach the others). Every
  receiver ends, including all competing receivers of a pipeline. A pipeline receiver
  that closes early returns the items it had taken off the wire but not handed out, via the
  rendezvous, to the other receivers.
- **Trust**: every item is an HMAC-signed frame (`settings.make_codec()`); joining the
  rendezvous and saying HELLO to a receiver need a proof signed with the same key, and
  before that the ZeroMQ handshake needs a password derived from it (`connector_zmq.access`):
  a peer without the key is disconnected there, and a stalled handshake is closed after
  `access.HANDSHAKE_MS`, so idle connections give their descriptors back. A
  receiver checks every message as it arrives, before it buffers, counts or credits it:
  anything from a peer without a verified HELLO, beyond a sender's credit (in items), or
  whose signature fails is dropped and counted (`statistics().rejected`). Every socket refuses
  messages over `protocol.MAX_MESSAGE_BYTES` (an item is at most `MAX_ITEM_BYTES`, 64 MiB:
  a larger one fails its `send()` with `ChannelSerializationError`) and queues at most
  `RCV_HWM` messages per peer. A process out of file descriptors gets `ChannelSetupError`.
- **Cleanup**: a channel's sockets close with it; a receiver that reaches the end of the
  connection (`recv()` raised ChannelClosedError, `async for` ended) closes itself; the
  rendezvous thread ends when the connection has ended and everyone left; the per-process
  context ends at exit, closing channels nobody closed (a sender's items not yet on the
  wire then are lost: close senders) and never holding the exit for more than a few
  seconds. No helper processes and no `ipc://` files exist.
- **Crashes**: the rendezvous watches each participant's process (pidfd, same host). A
  receiver process that dies loses the items it held (per open sender at most its share of
  the window, `protocol.open_window()`; a closing one's whole window) and the
  senders go on with the others; a sender process that dies is dropped and receivers stop
  waiting for its END. If the creating process exits, the rendezvous goes with it: keep
  that process alive while the connection is in use (no survival is promised).
"""

from __future__ import annotations

import importlib.metadata

from connector_zmq.channel import ZMQChannel
from connector_zmq.connector import ZMQConnector

__version__ = importlib.metadata.version("connector-zmq")

__all__ = ["ZMQChannel", "ZMQConnector"]
