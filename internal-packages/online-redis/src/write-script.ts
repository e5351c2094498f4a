/**
 * The newer-wins write, run atomically by Redis, many rows per call. For each row it reads the view's stored event
 * time (a protobuf Timestamp, which it decodes itself, so rows written by Feast take part too) and writes the row
 * only when the row's event time is later; at an equal event time only a row with a strictly later created time
 * wins (a row without a created time never does). A winning row without a created time removes a stored one.
 *
 * The rows of one call are applied in order, so a row sees what the rows before it in the same call wrote (as a
 * pipeline of one-row calls would); a key may repeat within a call. The view's field names are passed once per
 * call, not once per row, and Redis pays its per-call cost (script lookup, argument vector, Lua call) once per batch.
 *
 * KEYS[1..n] the entity hashes, one per row (on a cluster all in one slot)
 * ARGV[1] `_ts:<view>`   ARGV[2] `_ct:<view>`   ARGV[3] key expiry in ms, 0 = none   ARGV[4] feature count f
 * ARGV[5..4+f] the feature fields
 * then per row, 4 + f arguments: event seconds, event nanos, event Timestamp bytes, created Timestamp bytes (empty:
 * the row has no created time), then the row's f Value bytes in field order.
 *
 * Returns the number of rows written (the others were skipped because the stored row is as new or newer).
 */
import { createHash } from 'node:crypto';

const TIMESTAMP_DECODER = `
local function varint(s, pos)
  local value, comp, mult, n = 0, 0, 1, 0
  while true do
    local b = string.byte(s, pos)
    if b == nil then return nil, pos end
    pos = pos + 1
    n = n + 1
    local g = b % 128
    value = value + g * mult
    if n <= 9 then comp = comp + (127 - g) * mult end
    mult = mult * 128
    if b < 128 then break end
  end
  -- ten bytes: a negative number in two's complement; rebuild it from the complement to stay exact
  if n >= 10 then value = -(comp + 1) end
  return value, pos
end

local function timestamp(s)
  local sec, nanos, pos = 0, 0, 1
  while pos <= #s do
    local tag, v
    tag, pos = varint(s, pos)
    if tag == nil or tag % 8 ~= 0 then break end
    v, pos = varint(s, pos)
    if v == nil then break end
    if tag == 8 then sec = v elseif tag == 16 then nanos = v end
  end
  return sec, nanos
end
`;

export const WRITE_ROWS_SCRIPT = `${TIMESTAMP_DECODER}
local tsf, ctf = ARGV[1], ARGV[2]
local ttl = tonumber(ARGV[3])
local nf = tonumber(ARGV[4])
local per = 4 + nf
local written = 0
for r = 1, #KEYS do
  local key = KEYS[r]
  local base = 4 + nf + (r - 1) * per
  local sec, nanos = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
  local created = ARGV[base + 4]
  local stored = redis.call('HMGET', key, tsf, ctf)
  local prev, pc = stored[1], stored[2]
  local wins = true
  if prev then
    local ps, pn = timestamp(prev)
    if sec < ps or (sec == ps and nanos < pn) then
      wins = false
    elseif sec == ps and nanos == pn then
      -- An equal event time: only a strictly later created time wins (a row without one never does).
      if created == '' or not pc then
        wins = false
      else
        local cs, cn = timestamp(pc)
        local ns, nn = timestamp(created)
        if ns < cs or (ns == cs and nn <= cn) then wins = false end
      end
    end
  end
  if wins then
    local pttl = -2
    if ttl > 0 then pttl = redis.call('PTTL', key) end
    local args = {tsf, ARGV[base + 3]}
    if created ~= '' then
      args[3] = ctf
      args[4] = created
    elseif pc then
      redis.call('HDEL', key, ctf)
    end
    for j = 1, nf do
      args[#args + 1] = ARGV[4 + j]
      args[#args + 1] = ARGV[base + 4 + j]
      if #args >= 1000 then
        redis.call('HSET', key, unpack(args))
        args = {}
      end
    end
    if #args > 0 then redis.call('HSET', key, unpack(args)) end
    -- Expiry only ever lengthens a key's life: a new key gets it, a key without expiry keeps none, a shorter one grows.
    if ttl > 0 and (pttl == -2 or (pttl >= 0 and pttl < ttl)) then redis.call('PEXPIRE', key, ttl) end
    written = written + 1
  end
end
return written
`;

const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');

/** The SHA1 of the write script (what EVALSHA names). */
export const WRITE_ROWS_SCRIPT_SHA = sha1(WRITE_ROWS_SCRIPT);

/** The write scripts with their SHA1, to load on every server that runs writes. */
export const WRITE_SCRIPTS = [{ source: WRITE_ROWS_SCRIPT, sha: WRITE_ROWS_SCRIPT_SHA }] as const;
