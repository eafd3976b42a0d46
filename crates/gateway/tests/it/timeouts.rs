//! Proxied traffic has deadlines: a stalled upstream is answered 504 in the caller's protocol,
//! and the client is let go.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common;

#[tokio::test]
async fn a_stalled_upstream_ends_in_504_within_the_read_timeout() {
    let h = common::builder()
        .set("backends.enos.read_timeout", "1s")
        .set("backends.netid.read_timeout", "1s")
        .start()
        .await;
    let id = h.enos_login().await;
    h.enos.faults().set_stall(true);
    h.netid.faults().set_stall(true);

    let started = Instant::now();
    let (status, v) = h.enos_org_info(&id).await;
    let waited = started.elapsed();
    assert_eq!(status, 504, "{v}");
    assert_eq!(v["success"], false, "an EnOS envelope: {v}");
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(8),
        "answered after the 1 s read timeout, not held: {waited:?}"
    );

    // The same for a Net iD REST call the gateway does not intercept, in Net iD's form.
    let (status, v) = h
        .post_json(&h.gw.base_url(), "/api/object/get", None, json!({}))
        .await;
    assert_eq!(status, 504, "{v}");
    assert_eq!(v["Status"]["Code"], "InternalError", "{v}");

    // The client connection is not held: a new request on the same client is answered at once.
    let (status, _) = h.enos_info(&format!("Bearer {id}")).await;
    assert_eq!(status, 200, "a cached session is still served");
    h.enos.faults().set_stall(false);
    h.netid.faults().set_stall(false);
}
