-- POST /api/v1/intake/messages: Singles' Day customer messages, each with a new external id.
-- Most come from a new customer (a phone number never seen); every fifth is a follow-up from the
-- customer of three requests before (it threads onto that customer's ticket, or opens one if the
-- first message is still in flight).
-- Arguments (after --): run tag, entry point id, first phone number offset.
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local report = dofile(here .. "report.lua")

local run = "run"
local entry_point = ""
local phone_offset = 0
local counter = 0
local products = {"电饭煲", "羽绒服", "扫地机器人", "口红礼盒", "蓝牙耳机", "婴儿推车", "空气炸锅"}

function init(args)
  run = args[1] or tostring(os.time())
  entry_point = args[2] or ""
  phone_offset = tonumber(args[3]) or 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local customer = counter
  local text
  if counter % 5 == 0 then
    customer = counter - 3
    text = "补充一下：收件地址是杭州市西湖区文三路 90 号，电话同上，谢谢"
  else
    text = string.format("双十一买的%s，订单号 %018d 到现在还没发货，麻烦帮忙查一下物流",
      products[(counter % #products) + 1], 236500000000000000 + phone_offset + counter)
  end
  local phone = string.format("138%08d", (phone_offset + customer) % 100000000)
  local body = string.format(
    '{"entry_point_id":"%s","external_id":"%s-%d","sender":{"name":"顾客%d",' ..
    '"identities":[{"kind":"phone","value":"%s"}]},"text":"%s"}',
    entry_point, run, counter, customer, phone, text)
  return wrk.format(nil, "/api/v1/intake/messages", nil, body)
end

done = report.done
