"""The Lua scripts that change a connection's keys atomically (each one round trip).

Every script keeps the invariants of the package docstring in one step: `held` counts the
items of the entries some group still needs; nothing a group needs is trimmed; a party that
waits (`wait` set) is woken by the next change (an entry on `sig`); and once the last party
deleted the connection's keys, no late wake-up or wait flag of a closing party makes them
again (`sig` and `wait` are written only while `data` exists). Keys are always `data, held,
wait, sig, sizes` (or `ctl` alone), in that order.

A receiver reads small entries with `FETCH` (one round trip). A large entry would be copied
into Lua and back (40 ms of the server's one thread for 16 MiB), so once a receiver has read
one it reads new entries with a plain `XREADGROUP` beside `TAKE_BACK`; then only entries a
closing receiver gave back, and the last look before it waits at the end of a pipeline
(`FETCH` again), come through a script. What an entry counts in `held` comes from
elsewhere. In a pipeline, the receiver that acknowledges it states it: the item count of the
entry's signed envelope, or 0 for an entry that does not verify (junk added by someone
without the key was never counted). In pubsub, `ADD` notes it in `sizes`, a sorted set of
`<id>:<items>` whose ids are zero-padded so that the set's order is the stream's; trimming
sums what it removes.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACK",
    "ADD",
    "APPEND",
    "FETCH",
    "JOIN_PUBSUB",
    "LEAVE",
    "STATUS",
    "TAKE_BACK",
    "VANISH",
    "WAKE",
]

_HELPERS: Final = r"""
local function idparts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function idless(a, b)
  local am, as = idparts(a)
  local bm, bs = idparts(b)
  return am < bm or (am == bm and as < bs)
end
-- an id as a `sizes` member prefix: zero-padded, so that text order is id order
local function idkey(id)
  local ms, seq = idparts(id)
  return string.format('%020d-%020d', ms, seq)
end
local function idnext(id)
  local ms, seq = idparts(id)
  return string.format('%d-%d', ms, seq + 1)
end
local function lastid(key)
  if redis.call('EXISTS', key) == 0 then return '0-0' end
  local info = redis.call('XINFO', 'STREAM', key)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then return info[i + 1] end
  end
  return '0-0'
end
local function siglast(sig)
  local e = redis.call('XREVRANGE', sig, '+', '-', 'COUNT', 1)
  if #e == 0 then return '0-0' end
  return e[1][1]
end
local function signal(wait, sig)
  if redis.call('DEL', wait) == 1 then
    redis.call('XADD', sig, 'MAXLEN', '~', 64, '*', 'w', '1')
  end
end
-- a wake-up on sig, unless the connection's keys are gone (it would outlive them)
local function wake(data, sig)
  if redis.call('EXISTS', data) == 1 then
    redis.call('XADD', sig, 'MAXLEN', '~', 64, '*', 'w', '1')
  end
end
local function unhold(held, n)
  if n > 0 and redis.call('DECRBY', held, n) < 0 then redis.call('SET', held, 0) end
end
-- pubsub: drop the entries no group needs any more (before the oldest one still needed)
local function trim(data, held, sizes)
  if redis.call('EXISTS', data) == 0 then return end
  local groups = redis.call('XINFO', 'GROUPS', data)
  local minid = nil
  for _, g in ipairs(groups) do
    local name, pending, last
    for i = 1, #g, 2 do
      if g[i] == 'name' then name = g[i + 1]
      elseif g[i] == 'pending' then pending = g[i + 1]
      elseif g[i] == 'last-delivered-id' then last = g[i + 1] end
    end
    local need
    if pending > 0 then need = redis.call('XPENDING', data, name)[2] else need = idnext(last) end
    if minid == nil or idless(need, minid) then minid = need end
  end
  if minid == nil then minid = idnext(lastid(data)) end
  local before = '(' .. idkey(minid)
  local gone = redis.call('ZRANGEBYLEX', sizes, '-', before)
  if #gone == 0 then return end
  local n = 0
  for _, member in ipairs(gone) do n = n + (tonumber(string.match(member, ':(%d+)$')) or 0) end
  redis.call('ZREMRANGEBYLEX', sizes, '-', before)
  redis.call('XTRIM', data, 'MINID', minid)  -- junk before minid goes too
  unhold(held, n)
end
-- acknowledge entries a receiver handed out: deleted (pipeline) or trimmed (pubsub);
-- acked: id, items, id, items, ... (items: the entry's signed count, 0 for junk)
local function ack(data, held, sizes, group, pubsub, acked)
  if #acked == 0 then return end
  local ids = {}
  for i = 1, #acked, 2 do ids[#ids + 1] = acked[i] end
  redis.call('XACK', data, group, unpack(ids))
  if pubsub then
    trim(data, held, sizes)
    return
  end
  local n = 0
  for i = 1, #acked, 2 do
    -- counted once: an entry another receiver acknowledged first is gone already
    if redis.call('XDEL', data, acked[i]) == 1 then n = n + (tonumber(acked[i + 1]) or 0) end
  end
  unhold(held, n)
end
-- `ack` of the (id, items) pairs in ARGV from `first` on, then a wake-up for a waiting
-- sender; returns how many entries that was
local function ack_args(keys, group, pubsub, first)
  local acked = {}
  for i = first, #ARGV do acked[#acked + 1] = ARGV[i] end
  if #acked == 0 then return 0 end
  ack(keys[1], keys[2], keys[5], group, pubsub, acked)
  signal(keys[3], keys[4])
  return #acked / 2
end
-- pipeline: claims up to n entries closing receivers gave back (to `returned`); nil if none
local function given_back(data, group, me, n)
  local back = redis.call('XPENDING', data, group, '-', '+', n, 'returned')
  if #back == 0 then return nil end
  local ids = {}
  for i, e in ipairs(back) do ids[i] = e[1] end
  return redis.call('XCLAIM', data, group, me, 0, unpack(ids))
end
"""

ADD: Final = (
    _HELPERS
    + r"""
-- ARGV: maxsize, items, id, envelope, pubsub[, frames (a data entry's)]
-- {1, held, id} added; {0, held, sig id} no room (wait set); {-1, held, last id} id too low
local maxsize, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local held = tonumber(redis.call('GET', KEYS[2]) or '0')
if maxsize > 0 and held > 0 and held + n > maxsize then
  redis.call('SET', KEYS[3], '1')
  return {0, held, siglast(KEYS[4])}
end
local r
if #ARGV >= 6 then
  r = redis.pcall('XADD', KEYS[1], ARGV[3], 'e', ARGV[4], 'b', ARGV[6])
else
  r = redis.pcall('XADD', KEYS[1], ARGV[3], 'e', ARGV[4])
end
if type(r) == 'table' and r.err then
  if redis.call('EXISTS', KEYS[1]) == 0 then return r end
  return {-1, held, lastid(KEYS[1])}
end
held = redis.call('INCRBY', KEYS[2], n)
if ARGV[5] == '1' then
  if #redis.call('XINFO', 'GROUPS', KEYS[1]) == 0 then
    redis.call('XTRIM', KEYS[1], 'MAXLEN', 0)
    redis.call('DEL', KEYS[5])
    redis.call('SET', KEYS[2], 0)
    held = 0
  elseif n > 0 then
    redis.call('ZADD', KEYS[5], 0, idkey(r) .. ':' .. n)
  end
end
return {1, held, r}
"""
)

TAKE_BACK: Final = (
    _HELPERS
    + r"""
-- ARGV: group, consumer, count, pubsub, then acked (id, items) pairs
-- Acknowledges what a receiver handed out; then (pipeline) takes what a closing receiver gave
-- back: those entries, or none. New entries are read beside it, with a plain XREADGROUP.
local pubsub = ARGV[4] == '1'
ack_args(KEYS, ARGV[1], pubsub, 5)
if pubsub then return {} end
return given_back(KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])) or {}
"""
)

FETCH: Final = (
    _HELPERS
    + r"""
-- A receiver's read of small entries, and its last look before it waits at the end of a
-- pipeline: the wait flag is set in the same step as nothing is found (no wake-up is lost).
-- ARGV: group, consumer, count, pubsub, wait, then acked (id, items) pairs
-- {2, entries} given back by a closing receiver; {1, entries} new;
-- {0, pending in the group, sig id} nothing (wait set if asked)
local data, group, me, n = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local pubsub = ARGV[4] == '1'
ack_args(KEYS, group, pubsub, 6)
if not pubsub then
  local back = given_back(data, group, me, n)
  if back then return {2, back} end
end
local new = redis.call('XREADGROUP', 'GROUP', group, me, 'COUNT', n, 'STREAMS', data, '>')
if new then return {1, new[1][2]} end
if ARGV[5] == '1' then redis.call('SET', KEYS[3], '1') end
return {0, redis.call('XPENDING', data, group)[1], siglast(KEYS[4])}
"""
)

WAKE: Final = (
    _HELPERS
    + r"""
-- Adds a wake-up to sig (every party blocked on it looks again), unless the keys are gone.
wake(KEYS[1], KEYS[4])
return 1
"""
)

ACK: Final = (
    _HELPERS
    + r"""
-- ARGV: group, pubsub, then acked (id, items) pairs. Acknowledges what a receiver handed
-- out; wakes a waiter.
return ack_args(KEYS, ARGV[1], ARGV[2] == '1', 3)
"""
)

LEAVE: Final = (
    _HELPERS
    + r"""
-- ARGV: group, consumer, pubsub, then acked (id, items) pairs
-- pipeline: ack what was handed out, give the rest back (to 'returned'), drop the consumer;
-- pubsub: drop the subscriber's group and what only it needed
local data, group, me = KEYS[1], ARGV[1], ARGV[2]
local pubsub = ARGV[3] == '1'
if redis.call('EXISTS', data) == 1 then
  if pubsub then
    redis.pcall('XGROUP', 'DESTROY', data, group)
    trim(data, KEYS[2], KEYS[5])
  else
    local acked = {}
    for i = 4, #ARGV do acked[#acked + 1] = ARGV[i] end
    ack(data, KEYS[2], KEYS[5], group, false, acked)
    local mine = redis.pcall('XPENDING', data, group, '-', '+', 1000000, me)
    if type(mine) == 'table' and not mine.err and #mine > 0 then
      local ids = {}
      for i, e in ipairs(mine) do ids[i] = e[1] end
      redis.call('XCLAIM', data, group, 'returned', 0, unpack(ids))
    end
    redis.pcall('XGROUP', 'DELCONSUMER', data, group, me)
  end
end
redis.call('DEL', KEYS[3])
wake(KEYS[1], KEYS[4])
return 1
"""
)

JOIN_PUBSUB: Final = (
    _HELPERS
    + r"""
-- ARGV: group. Creates the subscriber's group at the stream's last id; returns that id.
redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '$', 'MKSTREAM')
return lastid(KEYS[1])
"""
)

STATUS: Final = (
    _HELPERS
    + r"""
-- ARGV: wait. Returns {held, sig id}; sets wait when asked (not once the keys are gone).
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then redis.call('SET', KEYS[3], '1') end
return {tonumber(redis.call('GET', KEYS[2]) or '0'), siglast(KEYS[4])}
"""
)

APPEND: Final = (
    _HELPERS
    + r"""
-- KEYS: ctl. ARGV: id, envelope. {1, id} added; {-1, last id} the id is taken.
local r = redis.pcall('XADD', KEYS[1], ARGV[1], 'e', ARGV[2])
if type(r) == 'table' and r.err then
  if redis.call('EXISTS', KEYS[1]) == 0 then return r end
  return {-1, lastid(KEYS[1])}
end
return {1, r}
"""
)

VANISH: Final = (
    _HELPERS
    + r"""
-- KEYS: ctl, then every key to delete. ARGV: the last ctl id the caller read.
-- Deletes the keys only if nobody wrote to the control stream since.
if lastid(KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', unpack(KEYS))
return 1
"""
)
