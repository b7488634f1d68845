"""The Lua scripts that change queue state, each one atomic in Redis.

A message lives in exactly one of a queue's `:visible`, `:delayed` and `:inflight` sorted
sets. Receiving moves it from `:visible` to `:inflight` and writes a new receipt handle in
the same script, so two receivers can never hold the same message at once. Every script
first "settles" the queue: messages whose retention ended are removed, delayed and inflight
messages whose time came are made visible again (their old handle is cleared).

Message metadata is one string `enqueue|first_dequeue|dequeue_count|priority|handle|
next_visible` (ms times) in `:meta`, the body in `:body`, user properties (opaque JSON) in
`:props`. `KEYS[1]` is always the queue's attribute hash; the other keys derive from it.
`ARGV[1]` is the time in ms, or '' for Redis's own clock (TIME), which every API process
shares.
"""

from __future__ import annotations

_CLOCK = r"""
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

_COMMON = (
    _CLOCK
    + r"""
local base = KEYS[1]
local function load(id)
  local raw = redis.call('HGET', base .. ':meta', id)
  if not raw then return nil end
  local e, f, c, p, h, n = string.match(raw, '^(%d+)|(%d+)|(%d+)|(%d+)|([^|]*)|(%d+)$')
  return {e = tonumber(e), f = tonumber(f), c = tonumber(c), p = tonumber(p), h = h,
          n = tonumber(n)}
end
local function save(id, m)
  redis.call('HSET', base .. ':meta', id,
    string.format('%.0f|%.0f|%.0f|%.0f|%s|%.0f', m.e, m.f, m.c, m.p, m.h, m.n))
end
local function rank(m)
  return string.format('%.0f', m.p * 1e13 + m.e)
end
local function forget(id)
  for _, part in ipairs({':visible', ':delayed', ':inflight', ':expiry'}) do
    redis.call('ZREM', base .. part, id)
  end
  redis.call('HDEL', base .. ':body', id)
  redis.call('HDEL', base .. ':meta', id)
  redis.call('HDEL', base .. ':props', id)
end
local function wake(count)
  if count > 0 then
    for _ = 1, math.min(count, 16) do redis.call('LPUSH', base .. ':signal', '1') end
    redis.call('LTRIM', base .. ':signal', 0, 63)
  end
end
local function settle(now)
  local dead = redis.call('ZRANGEBYSCORE', base .. ':expiry', '-inf', now, 'LIMIT', 0, 1000)
  for _, id in ipairs(dead) do forget(id) end
  local woken = 0
  for _, part in ipairs({':delayed', ':inflight'}) do
    local due = redis.call('ZRANGEBYSCORE', base .. part, '-inf', now, 'LIMIT', 0, 1000)
    for _, id in ipairs(due) do
      redis.call('ZREM', base .. part, id)
      local m = load(id)
      if m then
        m.h = ''
        save(id, m)
        redis.call('ZADD', base .. ':visible', rank(m), id)
        woken = woken + 1
      end
    end
  end
  return woken
end
local function next_due()
  local best = -1
  for _, part in ipairs({':delayed', ':inflight'}) do
    local first = redis.call('ZRANGE', base .. part, 0, 0, 'WITHSCORES')
    if first[2] then
      local t = tonumber(first[2])
      if best < 0 or t < best then best = t end
    end
  end
  return best
end
local function row(id, m, with_handle)
  local props = redis.call('HGET', base .. ':props', id) or ''
  local r = {id, redis.call('HGET', base .. ':body', id) or '',
             string.format('%.0f', m.e), string.format('%.0f', m.f), string.format('%.0f', m.c),
             string.format('%.0f', m.p), props}
  if with_handle then
    r[#r + 1] = m.h
    r[#r + 1] = string.format('%.0f', m.n)
  end
  return r
end
"""
)

#: KEYS[1] sequence counter, KEYS[2..] queue attribute hashes (one per entry, may repeat).
#: ARGV: now_ms, then per entry 6 values: id_suffix, body, delay (-1: the queue's),
#: priority, props, check_size (1/0). Returns per entry {id} or {'', code}.
SEND = (
    _CLOCK
    + r"""
local now = tonumber(ARGV[1]) or clock()
local out = {}
for i = 2, #KEYS do
  local base = KEYS[i]
  local a = 2 + (i - 2) * 6
  local attrs = redis.call('HMGET', base, 'DelaySeconds', 'MaximumMessageSize',
                           'MessageRetentionPeriod')
  local body = ARGV[a + 1]
  if not attrs[1] then
    out[#out + 1] = {'', 'QueueNotExist'}
  elseif ARGV[a + 5] == '1' and #body > tonumber(attrs[2]) then
    out[#out + 1] = {'', 'MessageTooLarge'}
  else
    local seq = redis.call('INCR', KEYS[1])
    local id = string.format('%016X', seq) .. ARGV[a]
    local delay = tonumber(ARGV[a + 2])
    if delay < 0 then delay = tonumber(attrs[1]) end
    local p = tonumber(ARGV[a + 3])
    local visible_at = now + delay * 1000
    redis.call('HSET', base .. ':body', id, body)
    redis.call('HSET', base .. ':meta', id,
      string.format('%.0f|0|0|%.0f||%.0f', now, p, visible_at))
    if ARGV[a + 4] ~= '' then redis.call('HSET', base .. ':props', id, ARGV[a + 4]) end
    local expires = now + tonumber(attrs[3]) * 1000
    redis.call('ZADD', base .. ':expiry', string.format('%.0f', expires), id)
    if delay > 0 then
      redis.call('ZADD', base .. ':delayed', string.format('%.0f', visible_at), id)
    else
      redis.call('ZADD', base .. ':visible', string.format('%.0f', p * 1e13 + now), id)
      redis.call('LPUSH', base .. ':signal', '1')
      redis.call('LTRIM', base .. ':signal', 0, 63)
    end
    out[#out + 1] = {id}
  end
end
return out
"""
)

#: ARGV: now_ms, how many, then one handle nonce per message. Returns {'!'} when the queue
#: does not exist, {next_due_ms} when nothing is visible (-1: nothing is due; the wake-up
#: list is emptied in the same step, so a token found later means a new visible message),
#: else {'', rows...}.
RECEIVE = (
    _COMMON
    + r"""
local now = tonumber(ARGV[1]) or clock()
local vt = tonumber(redis.call('HGET', base, 'VisibilityTimeout'))
if not vt then return {'!'} end
settle(now)
local ids = redis.call('ZRANGE', base .. ':visible', 0, tonumber(ARGV[2]) - 1)
if #ids == 0 then
  redis.call('DEL', base .. ':signal')
  return {string.format('%.0f', next_due())}
end
local out = {''}
for i, id in ipairs(ids) do
  redis.call('ZREM', base .. ':visible', id)
  local m = load(id)
  if m then
    m.c = m.c + 1
    if m.f == 0 then m.f = now end
    m.h = id .. '-' .. ARGV[2 + i]
    m.n = now + vt * 1000
    save(id, m)
    redis.call('ZADD', base .. ':inflight', string.format('%.0f', m.n), id)
    out[#out + 1] = row(id, m, true)
  end
end
wake(redis.call('ZCARD', base .. ':visible'))
return out
"""
)

#: ARGV: now_ms, how many. Same answers as RECEIVE, rows without handle; changes nothing
#: but the settling.
PEEK = (
    _COMMON
    + r"""
local now = tonumber(ARGV[1]) or clock()
if redis.call('EXISTS', base) == 0 then return {'!'} end
wake(settle(now))
local ids = redis.call('ZRANGE', base .. ':visible', 0, tonumber(ARGV[2]) - 1)
if #ids == 0 then return {string.format('%.0f', next_due())} end
local out = {''}
for _, id in ipairs(ids) do
  local m = load(id)
  if m then out[#out + 1] = row(id, m, false) end
end
return out
"""
)

_HELD = r"""
local now = tonumber(ARGV[1]) or clock()
local id, handle = ARGV[2], ARGV[3]
if redis.call('EXISTS', base) == 0 then return {'!', 'QueueNotExist'} end
local m = load(id)
local until_ms = redis.call('ZSCORE', base .. ':inflight', id)
if not m or m.h ~= handle or not until_ms or tonumber(until_ms) <= now then
  return {'!', 'MessageNotExist'}
end
"""

#: ARGV: now_ms, message id, handle. {'!', code} or {'ok'}.
DELETE = (
    _COMMON
    + _HELD
    + r"""
forget(id)
return {'ok'}
"""
)

#: ARGV: now_ms, message id, handle, visibility timeout (s), new nonce.
#: {'!', code} or {new handle, next visible ms}.
CHANGE_VISIBILITY = (
    _COMMON
    + _HELD
    + r"""
m.h = id .. '-' .. ARGV[5]
m.n = now + tonumber(ARGV[4]) * 1000
save(id, m)
redis.call('ZADD', base .. ':inflight', string.format('%.0f', m.n), id)
return {m.h, string.format('%.0f', m.n)}
"""
)

#: ARGV: now_ms. {} when the queue does not exist, else {HGETALL..., active, inactive, delayed}
ATTRIBUTES = (
    _COMMON
    + r"""
if redis.call('EXISTS', base) == 0 then return {} end
wake(settle(tonumber(ARGV[1]) or clock()))
return {redis.call('HGETALL', base), redis.call('ZCARD', base .. ':visible'),
        redis.call('ZCARD', base .. ':inflight'), redis.call('ZCARD', base .. ':delayed')}
"""
)

#: KEYS[1] attributes, KEYS[2] the names index. ARGV: name, now_ms, then field/value pairs
#: of the full attributes. 'created', 'same' (exists with these attributes) or 'different'.
CREATE = r"""
if redis.call('EXISTS', KEYS[1]) == 1 then
  for i = 3, #ARGV, 2 do
    if redis.call('HGET', KEYS[1], ARGV[i]) ~= ARGV[i + 1] then return 'different' end
  end
  return 'same'
end
redis.call('HSET', KEYS[1], 'CreateTime', ARGV[2], 'LastModifyTime', ARGV[2],
           unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 'created'
"""

#: KEYS[1] attributes. ARGV: now_ms, then field/value pairs. 0 when it does not exist.
SET_ATTRIBUTES = r"""
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if #ARGV > 1 then redis.call('HSET', KEYS[1], unpack(ARGV, 2)) end
redis.call('HSET', KEYS[1], 'LastModifyTime', ARGV[1])
return 1
"""
