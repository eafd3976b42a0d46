//! Running wrk and reading what it prints.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail, ensure};

/// One HTTP request, repeated by wrk.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// Net iD status calls: the gateway refuses a repeated `Count`, as the portal does, so each
    /// request names one of several sessions and a count above that session's last one.
    pub counted: Option<Counted>,
    /// Calls that name many sessions in a header (EnOS bearers): see [`Cycled`].
    pub cycled: Option<Cycled>,
}

/// A body `before {session} between {count} after`, each request for a session not in flight.
///
/// Each wrk thread has its own slice of `sessions` as a queue of free ones. A request takes the
/// next free session and the thread's next count (which only rises); the answer echoes the count,
/// which gives the session back. A session therefore never has two calls in flight and its counts
/// arrive in order, however the connections interleave.
#[derive(Clone, Debug)]
pub struct Counted {
    pub sessions: Vec<String>,
    pub before: String,
    pub between: String,
    pub after: String,
}

/// A header set to `prefix value` with the next of `values` on every request; each wrk thread
/// cycles through its own slice, so the sessions are spread over the run evenly. The header's
/// fixed value in [`Call::headers`] is what the one-off check before the run sends.
#[derive(Clone, Debug)]
pub struct Cycled {
    pub header: &'static str,
    pub prefix: String,
    pub values: Vec<String>,
}

/// What the gateway answers to a refused `Count` (REST `Status` and SOAP `<Status>` alike).
const REFUSED_COUNT: &str = "InvalidCount";

/// What one wrk run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    pub requests_per_sec: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub requests: u64,
    /// Responses outside 2xx/3xx plus socket errors: a run with any is not a valid measurement.
    pub errors: u64,
    /// CPU time the server under test spent per request (user + system, all its threads), in
    /// microseconds; filled in by the caller, which knows which processes serve.
    pub server_cpu_us: f64,
    /// Read- and write-like system calls of the server per request (`/proc/PID/io`).
    pub server_syscalls: f64,
    /// Context switches of the server's threads per request.
    pub server_switches: f64,
}

/// How hard to push.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    pub threads: u32,
    pub connections: u32,
    pub duration: Duration,
}

/// The Lua script that makes wrk send `call` (wrk sends a plain GET without one). Counted calls
/// start at `first_count`, which must be above every count an earlier run used.
pub fn script(call: &Call, threads: u32, first_count: u64) -> String {
    let mut lua = format!("wrk.method = \"{}\"\n", call.method);
    if !call.body.is_empty() {
        lua.push_str(&format!("wrk.body = {}\n", long_string(&call.body)));
    }
    for (name, value) in &call.headers {
        lua.push_str(&format!(
            "wrk.headers[\"{name}\"] = {}\n",
            long_string(value)
        ));
    }
    if let Some(c) = &call.counted {
        lua.push_str(&counted_script(c, threads, first_count));
    }
    if let Some(c) = &call.cycled {
        lua.push_str(&cycled_script(c, threads));
    }
    lua
}

/// See [`Cycled`].
fn cycled_script(c: &Cycled, threads: u32) -> String {
    let values = c
        .values
        .iter()
        .map(|v| long_string(v))
        .collect::<Vec<_>>()
        .join(", ");
    let (header, prefix) = (long_string(c.header), long_string(&c.prefix));
    format!(
        r#"
local values = {{ {values} }}
local per = math.floor(#values / {threads})
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
local at = 0
function request()
  at = at % per + 1
  wrk.headers[ {header} ] = {prefix} .. values[id * per + at]
  return wrk.format()
end
"#
    )
}

/// See [`Counted`]. `done` prints the refused answers of all threads as a line `parse` reads as
/// errors. A thread with no free session (only if answers lose their count) reuses the oldest
/// in flight, and a refusal it causes is counted.
fn counted_script(c: &Counted, threads: u32, first_count: u64) -> String {
    let sessions = c
        .sessions
        .iter()
        .map(|s| long_string(s))
        .collect::<Vec<_>>()
        .join(", ");
    let (before, between, after) = (
        long_string(&c.before),
        long_string(&c.between),
        long_string(&c.after),
    );
    format!(
        r#"
local sessions = {{ {sessions} }}
local per = math.floor(#sessions / {threads})
local threads, next_id = {{}}, 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
-- Globals, so that `done` can read `refused` from each thread.
refused = 0
local free, head, tail, in_flight, count = {{}}, 1, 0, {{}}, {first_count}
function init(args)
  for k = 1, per do
    tail = tail + 1
    free[tail] = sessions[id * per + k]
  end
end
function request()
  local session
  if head <= tail then
    session = free[head]
    free[head] = nil
    head = head + 1
  else
    session = sessions[id * per + 1]
  end
  count = count + 1
  local text = string.format("%.0f", count)
  in_flight[text] = session
  return wrk.format(nil, nil, nil, {before} .. session .. {between} .. text .. {after})
end
function response(status, headers, body)
  if body:find("{REFUSED_COUNT}", 1, true) then refused = refused + 1 end
  local echoed = body:match('Count"?[:>]"?(%d+)')
  local session = echoed and in_flight[echoed]
  if session then
    in_flight[echoed] = nil
    tail = tail + 1
    free[tail] = session
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("refused") end
  io.write(string.format("Refused counts: %d\n", total))
end
"#
    )
}

/// A Lua long-bracket string, whatever `text` contains.
fn long_string(text: &str) -> String {
    let mut level = 0;
    while text.contains(&format!("]{}]", "=".repeat(level))) {
        level += 1;
    }
    let eq = "=".repeat(level);
    format!("[{eq}[{text}]{eq}]")
}

pub fn run(
    call: &Call,
    load: Load,
    first_count: u64,
    dir: &Path,
    name: &str,
) -> anyhow::Result<Measured> {
    ensure!(
        call.counted.is_none() || call.cycled.is_none(),
        "{name}: a call is counted or cycled, not both (each script has its own `request`)"
    );
    if let Some(c) = &call.cycled {
        ensure!(
            c.values.len() >= load.threads as usize,
            "{name}: {} values for {} wrk threads",
            c.values.len(),
            load.threads
        );
    }
    if let Some(c) = &call.counted {
        ensure!(
            c.sessions.len() >= 4 * load.connections as usize,
            "{name}: {} sessions for {} connections; every connection needs free sessions to take",
            c.sessions.len(),
            load.connections
        );
    }
    let script_path = dir.join(format!("{name}.lua"));
    std::fs::write(&script_path, script(call, load.threads, first_count))?;
    let out = Command::new("wrk")
        .arg(format!("-t{}", load.threads))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.duration.as_secs().max(1)))
        .arg("--latency")
        .arg("-s")
        .arg(&script_path)
        .arg(&call.url)
        .output()
        .context("running wrk (make bench installs it)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "wrk failed on {name}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    parse(&text).with_context(|| format!("reading wrk's report for {name}:\n{text}"))
}

/// Reads the report of `wrk --latency`.
pub fn parse(report: &str) -> anyhow::Result<Measured> {
    let mut rps = None;
    let (mut p50, mut p99, mut requests, mut errors) = (None, None, None, 0u64);
    for line in report.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", n] => rps = Some(n.parse::<f64>()?),
            ["50%", t] => p50 = Some(duration(t)?),
            ["99%", t] => p99 = Some(duration(t)?),
            [n, "requests", "in", ..] => requests = Some(n.parse::<u64>()?),
            ["Non-2xx", "or", "3xx", "responses:", n] => errors += n.parse::<u64>()?,
            ["Refused", "counts:", n] => errors += n.parse::<u64>()?,
            ["Socket", "errors:", rest @ ..] => {
                // "connect 0, read 0, write 0, timeout 0"
                for pair in rest.chunks(2) {
                    if let [_, n] = pair {
                        errors += n.trim_end_matches(',').parse::<u64>()?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(Measured {
        requests_per_sec: rps.context("no Requests/sec line")?,
        p50: p50.context("no 50% line (was --latency given?)")?,
        p99: p99.context("no 99% line")?,
        requests: requests.context("no request count")?,
        errors,
        server_cpu_us: 0.0,
        server_syscalls: 0.0,
        server_switches: 0.0,
    })
}

/// wrk's latency figures: `512.00us`, `1.23ms`, `2.00s`, `1.50m`.
fn duration(text: &str) -> anyhow::Result<Duration> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .with_context(|| format!("no unit in {text:?}"))?;
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse()?;
    let secs = match unit {
        "us" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => bail!("unknown unit in {text:?}"),
    };
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const REPORT: &str = "Running 10s test @ http://127.0.0.1:8080/x
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms  310.55us  12.40ms   90.12%
    Req/Sec    62.10k     2.31k   66.02k    71.00%
  Latency Distribution
     50%  0.98ms
     75%    1.10ms
     90%    1.30ms
     99%  812.00us
  618000 requests in 10.00s, 500.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  61800.12
Transfer/sec:     50.00MB
";

    #[test]
    fn reads_a_wrk_report() {
        let m = parse(REPORT).unwrap();
        assert_eq!(m.requests_per_sec, 61800.12);
        assert_eq!(m.p50, Duration::from_micros(980));
        assert_eq!(m.p99, Duration::from_micros(812));
        assert_eq!(m.requests, 618_000);
        assert_eq!(m.errors, 7);
    }

    #[test]
    fn refused_counts_are_errors() {
        let m = parse(&format!("{REPORT}Refused counts: 3\n")).unwrap();
        assert_eq!(m.errors, 10);
    }

    #[test]
    fn a_report_without_latency_percentiles_is_refused() {
        let without: String = REPORT
            .lines()
            .filter(|l| !l.contains('%') || l.contains("Stdev"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(parse(&without).is_err());
    }

    #[test]
    fn scripts_quote_anything() {
        let call = Call {
            method: "POST",
            url: "http://x/".into(),
            headers: vec![("SOAPAction", "\"a\"".into())],
            body: "<a>]]</a>".into(),
            counted: None,
            cycled: None,
        };
        let lua = script(&call, 1, 1);
        assert!(lua.contains("wrk.method = \"POST\""));
        assert!(lua.contains("wrk.body = [[<a>]]</a>]]") || lua.contains("[=[<a>]]</a>]=]"));
        assert!(lua.contains("wrk.headers[\"SOAPAction\"] = [[\"a\"]]"));
    }

    #[test]
    fn cycled_calls_set_the_header_per_request() {
        let call = Call {
            method: "POST",
            url: "http://x/".into(),
            headers: Vec::new(),
            body: "{}".into(),
            counted: None,
            cycled: Some(Cycled {
                header: "Authorization",
                prefix: "Bearer ".into(),
                values: vec!["s1".into(), "s2".into()],
            }),
        };
        let lua = script(&call, 2, 1);
        assert!(lua.contains("local values = { [[s1]], [[s2]] }"));
        // Spaced: `[[[` would open a long string.
        assert!(lua.contains("wrk.headers[ [[Authorization]] ] = [[Bearer ]] .. values"));
    }
}
