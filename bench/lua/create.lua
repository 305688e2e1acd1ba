-- POST /api/v1/tickets: a unique title and a new customer phone number on every request.
-- Arguments (after --): run tag, first phone number offset (the runner keeps runs apart), and
-- optionally a pause in ms before each request on each connection (paced load: with c connections
-- and pause p the offered rate is at most c / p requests per second; jittered so they do not align).
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local report = dofile(here .. "report.lua")

local run = "run"
local phone_offset = 0
local counter = 0

function init(args)
  run = args[1] or tostring(os.time())
  phone_offset = tonumber(args[2]) or 0
  local pause_ms = tonumber(args[3]) or 0
  if pause_ms > 0 then
    math.randomseed(os.time() + phone_offset)
    delay = function() return math.floor(pause_ms * (0.5 + math.random())) end
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local phone = string.format("139%08d", (phone_offset + counter) % 100000000)
  local body = string.format(
    '{"title":"门店%d号打印机卡纸 %s-%d","description":"打印小票时一直卡纸，已重启两次仍然不行，' ..
    '请尽快安排工程师上门处理。","customer":{"phone":"%s"}}',
    counter % 97, run, counter, phone)
  return wrk.format(nil, "/api/v1/tickets", nil, body)
end

done = report.done
