-- wrk script for bench/logins.py: complete MFA logins through the JSON flow.
-- Each connection either sends a password login (POST /login?username=uN, answered with an
-- ephemeral_token) or, when a token is waiting, its verification with the next unused
-- recovery code of that token's user (the token names its user). A login counts as complete
-- when the verification releases the app's answer (302).

local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local values = {}
for i = 1, #alphabet do values[alphabet:sub(i, i)] = i - 1 end

-- base64url without padding → bytes
local function decode(text)
  local out, bits, count = {}, 0, 0
  for i = 1, #text do
    local v = values[text:sub(i, i)]
    if v == nil then return nil end
    bits = bits * 64 + v
    count = count + 6
    if count >= 8 then
      count = count - 8
      local byte = math.floor(bits / 2 ^ count) % 256
      out[#out + 1] = string.char(byte)
      bits = bits % 2 ^ count
    end
  end
  return table.concat(out)
end

function init(args)
  codes = dofile(args[1])
  local nthreads = tonumber(args[2])
  users = {}
  for user, _ in pairs(codes) do
    if tonumber(user:sub(2)) % nthreads == id then users[#users + 1] = user end
  end
  used = {}
  waiting = {}
  turn = 0
  completed, refused = 0, 0
end

local function login()
  turn = turn % #users + 1
  return wrk.format("POST", "/login?username=" .. users[turn],
    { ["Content-Type"] = "application/x-www-form-urlencoded", ["Accept"] = "application/json" }, "")
end

function request()
  local token = table.remove(waiting, 1)
  if token == nil then return login() end
  local payload = decode(token:match("^([^.]+)"))
  local user = payload and payload:match("^[^%z]*%z[^%z]*%z([^%z]*)%z")
  local n = (used[user] or 0) + 1
  local code = user and codes[user] and codes[user][n]
  if code == nil then return login() end
  used[user] = n
  local body = '{"ephemeral_token":"' .. token .. '","code":"' .. code .. '","method":"recovery_code"}'
  return wrk.format("POST", "/.mfa/api/verify", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  if status == 200 then
    local token = body:match('"ephemeral_token":"([^"]+)"')
    if token then waiting[#waiting + 1] = token end
  elseif status == 302 then
    completed = completed + 1
  else
    refused = refused + 1
  end
end

function done(summary, latency, requests)
  local total, bad = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("completed")
    bad = bad + thread:get("refused")
  end
  io.write(string.format("COMPLETED %d REFUSED %d SECONDS %.3f\n", total, bad, summary.duration / 1e6))
end
