/**
 * The newer-wins write, run atomically per entity hash by Redis. It reads the view's stored event time (a protobuf
 * Timestamp, which it decodes itself, so rows written by Feast take part too) and writes the row only when the
 * row's event time is later; at an equal event time only a row with a strictly later created time wins.
 *
 * Two variants, the same rule: `WRITE_SCRIPT` for a row with a created time, `WRITE_SCRIPT_NO_CREATED` for a row
 * without one (most views have no created column), which takes three arguments fewer and skips the created-time
 * comparison (at an equal event time such a row never wins). Both remove a stored created time a newer row replaces.
 *
 * WRITE_SCRIPT:
 * KEYS[1]  the entity hash
 * ARGV[1]  `_ts:<view>`         ARGV[2] event seconds    ARGV[3] event nanos    ARGV[4] event Timestamp bytes
 * ARGV[5]  `_ct:<view>`         ARGV[6] created seconds  ARGV[7] created nanos  ARGV[8] created Timestamp bytes
 * ARGV[9]  key expiry in ms, 0 = none
 * ARGV[10..] feature field, Value bytes, ...
 *
 * WRITE_SCRIPT_NO_CREATED: ARGV[1..5] as above, ARGV[6] key expiry in ms, ARGV[7..] feature field, Value bytes, ...
 *
 * Each returns 1 when written, 0 when skipped because the stored row is as new or newer.
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

/**
 * A write script: read both stored times, `check` (returns 0 when the stored row wins), then write the event time,
 * `extra` (the created time, or removing a stale one) and the features from ARGV[first], and lengthen the expiry.
 */
function writeScript(check: string, extra: string, ttlArg: number, first: number): string {
  return `${TIMESTAMP_DECODER}
local key = KEYS[1]
local sec, nanos = tonumber(ARGV[2]), tonumber(ARGV[3])
-- One read for both stored times (event, created): the created time is needed for a tie, and to know whether a
-- stale one must be removed.
local stored = redis.call('HMGET', key, ARGV[1], ARGV[5])
local prev, pc = stored[1], stored[2]
${check}
local ttl = tonumber(ARGV[${ttlArg}])
local pttl = -2
if ttl > 0 then pttl = redis.call('PTTL', key) end

local args = {ARGV[1], ARGV[4]}
${extra}
for i = ${first}, #ARGV, 2 do
  args[#args + 1] = ARGV[i]
  args[#args + 1] = ARGV[i + 1]
  if #args >= 1000 then
    redis.call('HSET', key, unpack(args))
    args = {}
  end
end
if #args > 0 then redis.call('HSET', key, unpack(args)) end

-- Expiry only ever lengthens a key's life: a new key gets it, a key without expiry keeps none, a shorter one grows.
if ttl > 0 and (pttl == -2 or (pttl >= 0 and pttl < ttl)) then redis.call('PEXPIRE', key, ttl) end
return 1
`;
}

/** The write of a row with a created time: at an equal event time, a strictly later created time wins. */
export const WRITE_SCRIPT = writeScript(
  `if prev then
  local ps, pn = timestamp(prev)
  if sec < ps or (sec == ps and nanos < pn) then return 0 end
  if sec == ps and nanos == pn then
    if not pc then return 0 end
    local cs, cn = timestamp(pc)
    local ns, nn = tonumber(ARGV[6]), tonumber(ARGV[7])
    if ns < cs or (ns == cs and nn <= cn) then return 0 end
  end
end`,
  `args[#args + 1] = ARGV[5]
args[#args + 1] = ARGV[8]`,
  9,
  10,
);

/** The write of a row without a created time: only a later event time wins. */
export const WRITE_SCRIPT_NO_CREATED = writeScript(
  `if prev then
  local ps, pn = timestamp(prev)
  if sec < ps or (sec == ps and nanos <= pn) then return 0 end
end`,
  `if pc then redis.call('HDEL', key, ARGV[5]) end`,
  6,
  7,
);

const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');

/** Both write scripts with their SHA1 (what EVALSHA names), to load on every server that runs writes. */
export const WRITE_SCRIPTS = [
  { source: WRITE_SCRIPT, sha: sha1(WRITE_SCRIPT) },
  { source: WRITE_SCRIPT_NO_CREATED, sha: sha1(WRITE_SCRIPT_NO_CREATED) },
] as const;

export const WRITE_SCRIPT_SHA = WRITE_SCRIPTS[0].sha;
export const WRITE_SCRIPT_NO_CREATED_SHA = WRITE_SCRIPTS[1].sha;
