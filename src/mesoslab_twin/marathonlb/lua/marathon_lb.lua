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

local function capture(command)
  local pipe = io.popen(command, "r")
  if pipe == nil then
    return "", false, -1
  end
  local output = pipe:read("*a") or ""
  local ok, _, code = pipe:close()
  return output, ok, code or -1
end

core.register_service("getpids", "http", function(applet)
  local output = capture("pidof haproxy")
  output = string.gsub(output, "^%s+", "")
  output = string.gsub(output, "%s+$", "")
  output = string.gsub(output, "[\r\n]+", " ")
  reply(applet, 200, output)
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

-- The daemon writes its pid to $MARATHON_LB_PIDFILE (set by the generated global section)
-- and removes it when it stops; in poll mode it does not stay, so there is nobody to signal.
local function signal(applet, name)
  local pidfile = os.getenv("MARATHON_LB_PIDFILE") or "/run/marathon-lb.pid"
  local pid = string.match(read_all(pidfile) or "", "^%s*(%d+)%s*$")
  local code = 1
  if pid ~= nil then
    local _, ok, status = capture("kill -" .. name .. " " .. pid .. " 2>/dev/null")
    if ok then
      reply(applet, 200, "Sent SIG" .. name .. " signal to marathon-lb")
      return
    end
    code = status
  end
  reply(applet, 500, string.format(
    "Failed to send SIG%s signal to marathon-lb (exit code %d). Is marathon-lb running " ..
    "in 'poll' mode?", name, code))
end

core.register_service("signalmlbhup", "http", function(applet)
  signal(applet, "HUP")
end)

core.register_service("signalmlbusr1", "http", function(applet)
  signal(applet, "USR1")
end)
