//! The HTTP calls the benchmark makes itself: logins that give it sessions to measure, the
//! bodies of the Net iD status calls, and reading a gateway's metrics.

use anyhow::{Context, ensure};
use idbridge_protocol::netid::proof::ClientKey;
use serde_json::{Value, json};

use crate::report::Lookups;
use crate::{DEMO_PASSWORD, DEMO_PRINCIPAL, NETID_NS};

pub async fn post(
    http: &reqwest::Client,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> anyhow::Result<bytes::Bytes> {
    let mut req = http.post(url).body(body.to_owned());
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let body = resp.bytes().await?;
    ensure!(
        status.is_success(),
        "POST {url}: {status}: {}",
        String::from_utf8_lossy(&body)
    );
    Ok(body)
}

pub async fn enos_login(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let body = json!({"authType": 0, "principal": DEMO_PRINCIPAL, "credentials": DEMO_PASSWORD});
    login(
        http,
        &format!("{base}/enos-iam-service/v2.0/login"),
        body,
        "/session/id",
    )
    .await
}

pub async fn netid_login(
    http: &reqwest::Client,
    base: &str,
    repo: &std::path::Path,
) -> anyhow::Result<String> {
    let cert = std::fs::read_to_string(repo.join("config/demo/john-doe.cer"))?;
    let key = std::fs::read_to_string(repo.join("config/demo/john-doe.key"))?;
    let key = ClientKey::from_pem(&key)?;
    let url = format!("{base}/api/login");
    // Two steps: the challenge, then the answer only the certificate's key makes.
    let body =
        json!({"Certificate": cert.trim(), "DateTime": "2026-11-23T10:00:00Z", "Role": "Self"});
    let answer = post(
        http,
        &url,
        &[("Content-Type", "application/json")],
        &body.to_string(),
    )
    .await?;
    let v: Value = serde_json::from_slice(&answer)?;
    let (Some(id), Some(value)) = (v["SessionId"].as_str(), v["Value"].as_str()) else {
        anyhow::bail!("Net iD login step 1 at {url} failed: {v}");
    };
    let body = json!({"SessionId": id, "Value": key.answer(id, value)?});
    login(http, &url, body, "/SessionId").await
}

/// Posts a login and returns the session id found at `id_at` (a JSON pointer) in the answer.
async fn login(
    http: &reqwest::Client,
    url: &str,
    body: Value,
    id_at: &str,
) -> anyhow::Result<String> {
    let answer = post(
        http,
        url,
        &[("Content-Type", "application/json")],
        &body.to_string(),
    )
    .await?;
    let v: Value = serde_json::from_slice(&answer)?;
    v.pointer(id_at)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("login at {url} failed: {v}"))
}

pub fn soap_status(session_id: &str, count: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetLoginStatus xmlns="{NETID_NS}"><Info><SessionId>{session_id}</SessionId><Count>{count}</Count></Info></GetLoginStatus></s:Body></s:Envelope>"#
    )
}

/// The gateway's `idbridge_cache_lookups_total` counters by result (hit, miss, coalesced, stale,
/// shared: read from Redis, not this replica's memory).
pub async fn cache_metrics(http: &reqwest::Client, admin: &str) -> anyhow::Result<Lookups> {
    let text = metrics(http, admin).await?;
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix("idbridge_cache_lookups_total{result=\""))
        .filter_map(|l| {
            let (result, rest) = l.split_once('"')?;
            let n = rest.rsplit(' ').next()?.parse::<f64>().ok()? as u64;
            Some((result.to_owned(), n))
        })
        .collect())
}

/// The gateway's `/metrics` text (Prometheus format).
pub async fn metrics(http: &reqwest::Client, admin: &str) -> anyhow::Result<String> {
    Ok(http
        .get(format!("{admin}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?)
}

/// The value of the unlabelled counter `name` in a `/metrics` text.
pub fn counter(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
}
