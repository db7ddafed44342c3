-- wrk script for the Linli `access` benchmark: POST one request body per request, taken in
-- turn from a file of bodies, one a line. A line is either the body alone, or the value of
-- its Authorization header, a tab, and the body (so each request comes from its own
-- terminal).
--
--   wrk -t<n> ... -s bench/access_post.lua <url> -- <bodies file> <n> [<pause ms>]
--
-- With a pause, each connection waits that many milliseconds after an answer before its
-- next request: a terminal that asks, opens the door and waits for the next person. The
-- load is then set by the number of connections and the pause, not by how fast the
-- server answers.
--
-- Thread k (0-based) of n sends lines k+1, k+1+n, k+1+2n, … so no two threads ever send
-- the same body: a 一码通 pass is accepted once, and two threads replaying each other's
-- passes would measure refusals. A thread that reaches the end of its share starts again
-- from its first line (the benchmark counts those replays in the database). wrk calls
-- request() once on thread 0 before the run to check the script, so that thread's first
-- line is never sent.
-- The `done` hook is bench/wrk_report.lua's, loaded from the same directory.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_report.lua")

local next_id = 0

function setup(thread)
  thread:set("thread_index", next_id)
  next_id = next_id + 1
end

function init(args)
  local path, threads, pause = args[1], tonumber(args[2] or "1"), tonumber(args[3] or "0")
  if path == nil then
    error("access_post.lua needs a bodies file: wrk ... -- <file> <threads>")
  end
  bodies, auths = {}, {}
  local line_no = 0
  for line in io.lines(path) do
    if line ~= "" then
      if line_no % threads == thread_index then
        local auth, body = line:match("^([^\t]*)\t(.*)$")
        bodies[#bodies + 1] = body or line
        auths[#bodies] = auth or false
      end
      line_no = line_no + 1
    end
  end
  if #bodies == 0 then
    error("no request bodies for thread " .. thread_index .. " in " .. path)
  end
  if pause > 0 then
    delay = function() return pause end
  end
  cursor = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  cursor = cursor % #bodies + 1
  wrk.headers["Authorization"] = auths[cursor] or nil
  return wrk.format(nil, nil, nil, bodies[cursor])
end
