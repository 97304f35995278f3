-- mesoslab twin: the Lua services of marathon-lb's ":9090" listener, loaded by HAProxy
-- (`lua-load` in the generated global section). Written for the rehearsal lab after the
-- behaviour of marathon-lb v1.15.0's getconfig.lua, getpids.lua, getmaps.lua and
-- signalmlb.lua; the answers carry "X-Mesoslab-Twin: emulation".

local function reply(applet, status, body)
  applet:set_status(status)
  applet:add_header("content-length", string.len(body))
  applet:add_header("content-type", "text/plain")
  applet:add_header("x-mesoslab-twin", "emulation")
  applet:start_response()
  applet:send(body)
end

local function read_all(path)
  local file = io.open(path, "rb")
  if file == nil then
    return nil
  end
  local text = file:read("*all")
  file:close()
  return text
end

-- The configuration file HAProxy was started with: the word after "-f" on its command line
-- (a worker shares the master's /proc/self/cmdline).
local function config_path()
  local cmdline = read_all("/proc/self/cmdline") or ""
  local take = false
  for word in string.gmatch(cmdline, "[^%z]+") do
    if take then
      return word
    end
    take = (word == "-f")
  end
  return nil
end

local loaded_config = ""

core.register_init(function()
  local path = config_path()
  loaded_config = (path and read_all(path)) or ""
end)

-- The configuration as this worker loaded it (a reload starts a worker with the new one).
core.register_service("getconfig", "http", function(applet)
  reply(applet, 200, loaded_config)
end)

-- What pidof haproxy shows in the real image: here this worker and its master, read from
-- /proc/self/stat (HAProxy >= 2.2 forbids forking from Lua, and a fork from a worker that
-- holds connections breaks them: measured, tests/test_marathon_lb_loopback.py).
core.register_service("getpids", "http", function(applet)
  local stat = read_all("/proc/self/stat") or ""
  local pid, ppid = string.match(stat, "^(%d+) %b() %S+ (%d+)")
  local pids = pid or ""
  local parent = ppid and read_all("/proc/" .. ppid .. "/comm") or ""
  if string.match(parent, "^haproxy") then
    pids = pids .. " " .. ppid
  end
  reply(applet, 200, pids)
end)

local function map_file(name)
  local path = config_path()
  if path == nil then
    return ""
  end
  local dir = string.match(path, "(.*/)") or "./"
  return read_all(dir .. name) or ""
end

core.register_service("getvhostmap", "http", function(applet)
  reply(applet, 200, map_file("domain2backend.map"))
end)

core.register_service("getappmap", "http", function(applet)
  reply(applet, 200, map_file("app2backend.map"))
end)

-- The daemon listens on $MARATHON_LB_CONTROL (set by the generated global section, a
-- "unix@<path>" address) while it runs in SSE mode and signals itself on "HUP" or "USR1";
-- the real signalmlb.lua runs `pkill -HUP -f marathon_lb.py`, whose exit status 1 (nothing
-- matched) is the one reported when nobody answers.
local function signal(applet, name)
  local address = os.getenv("MARATHON_LB_CONTROL") or "unix@/var/run/haproxy/marathon-lb.sock"
  local sock = core.tcp()
  sock:settimeout(5)
  local answer = nil
  if sock:connect(address) ~= nil then
    sock:send(name .. "\n")
    answer = sock:receive("*l")
    sock:close()
  end
  if answer == "OK" then
    reply(applet, 200, "Sent SIG" .. name .. " signal to marathon-lb")
    return
  end
  reply(applet, 500, string.format(
    "Failed to send SIG%s signal to marathon-lb (exit code %d). Is marathon-lb running " ..
    "in 'poll' mode?", name, 1))
end

core.register_service("signalmlbhup", "http", function(applet)
  signal(applet, "HUP")
end)

core.register_service("signalmlbusr1", "http", function(applet)
  signal(applet, "USR1")
end)
