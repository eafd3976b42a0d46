//! Unauthenticated memory amplification: hostile SOAP bodies, each within the body limit, sent
//! concurrently to both SOAP faces must not grow the gateway's resident memory by more than a
//! small, fixed amount.
//!
//! The gateway runs inside the test process, so the figures are this process's own
//! (`/proc/self/status`). Other tests of this binary run in parallel threads and allocate too;
//! the measuring test therefore runs alone, in a child process of this same test binary.

use std::process::Command;

use crate::common;

/// What the gateway's resident memory may grow by while it refuses the hostile bodies.
const MAX_GROWTH_KIB: u64 = 64 * 1024;
/// Concurrent requests per body and face.
const CONCURRENT: usize = 8;
const NETID_SOAP: &str = "/portal/service.svc";
const UNIFIED_SOAP: &str = "/idbridge/soap";

#[test]
fn hostile_xml_does_not_grow_resident_memory() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "memory::hostile_xml_measured_alone",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the measuring test did not run:\n{stdout}"
    );
    if let Some(at) = stdout.find("resident:") {
        println!("{}", stdout[at..].lines().next().unwrap_or_default());
    }
}

/// A kernel figure from `/proc/self/status`, in KiB (`VmRSS`: now; `VmHWM`: the peak so far).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The reproduced bomb (one 28 KB namespace URI, 9,000 empty children) and 10,000 empty
/// siblings, each in a Net iD GetLoginStatus envelope of at most 64 KiB.
fn hostile_bodies() -> Vec<String> {
    let uri = format!("urn:{}", "n".repeat(28_000));
    let bomb = format!(r#"<b xmlns="{uri}">{}</b>"#, "<c/>".repeat(9_000));
    let siblings = "<x/>".repeat(10_000);
    [bomb, siblings]
        .iter()
        .map(|inner| {
            let body = common::soap_envelope("GetLoginStatus", inner);
            assert!(body.len() <= 64 * 1024, "{} bytes", body.len());
            body
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run in its own process by hostile_xml_does_not_grow_resident_memory"]
async fn hostile_xml_measured_alone() {
    let h = common::start().await;
    let bodies = hostile_bodies();
    let post = |path: &'static str, body: String| {
        let http = h.http.clone();
        let url = h.url(path);
        async move {
            let mut req = http
                .post(url)
                .header("Content-Type", "text/xml; charset=\"utf-8\"");
            // The unified face reads the operation from the body; Net iD's needs its action.
            if path == NETID_SOAP {
                req = req.header("SOAPAction", common::soap_action("GetLoginStatus"));
            }
            let resp = req.body(body).send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    // A small refused body to each face first, so what the first requests allocate once
    // (connections, lazily built state) is in the baseline, not counted as growth.
    for path in [NETID_SOAP, UNIFIED_SOAP] {
        post(path, common::soap_envelope("GetLoginStatus", "<x/>")).await;
    }
    let before = status_kib("VmRSS:");

    let mut calls = Vec::new();
    for body in &bodies {
        for path in [NETID_SOAP, UNIFIED_SOAP] {
            for _ in 0..CONCURRENT {
                calls.push(tokio::spawn(post(path, body.clone())));
            }
        }
    }
    for call in calls {
        let (status, text) = call.await.unwrap();
        // A client Fault (SOAP 1.1: HTTP 500) that names the limit.
        assert_eq!(status, 500, "{text}");
        assert!(text.contains(":Client</faultcode>"), "{text}");
        assert!(text.contains("exceeds the limit of"), "{text}");
    }

    let (now, peak) = (status_kib("VmRSS:"), status_kib("VmHWM:"));
    println!("resident: {before} KiB before, {now} KiB after, {peak} KiB at the peak");
    assert!(
        peak.saturating_sub(before) < MAX_GROWTH_KIB,
        "resident memory grew from {before} KiB to a peak of {peak} KiB"
    );
}
