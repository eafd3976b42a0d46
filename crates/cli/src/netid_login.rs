//! `idbridge netid-login`: a Net iD certificate login in both steps, made the way a Net iD
//! client makes it, through any face that speaks it.
//!
//! Step 1 sends the certificate and gets back a session id and the server nonce sealed to the
//! certificate's key; step 2 opens the nonce with the private key and answers with
//! HMAC-SHA-256(nonce, session id) (`idbridge_protocol::netid::proof`). Nothing but the key's
//! holder can make step 2, so a certificate alone (which is public) logs nobody in.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use idbridge_protocol::Limits;
use idbridge_protocol::netid::proof::ClientKey;
use idbridge_protocol::netid::{LoginAnswer, LoginRequest, LoginResponse, Role, rest, soap};
use serde_json::{Value, json};

/// The face the login goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    /// idbridge's REST face (`POST /idbridge/v1/login`); prints the gateway token.
    Unified,
    /// idbridge's SOAP face (`/idbridge/soap`); prints the gateway token.
    UnifiedSoap,
    /// Net iD's own REST login (`POST /api/login`); prints the SessionId.
    Rest,
    /// Net iD's own SOAP login (`/portal/service.svc`); prints the SessionId.
    Soap,
}

#[derive(Debug, clap::Args)]
pub struct NetidLogin {
    /// The gateway's base URL (or, with --via rest or soap, a Net iD Portal's).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The client certificate: base64 DER, PEM armour allowed.
    #[arg(long, default_value = "config/demo/john-doe.cer")]
    certificate: PathBuf,
    /// Its private key, PKCS#8 PEM.
    #[arg(long, default_value = "config/demo/john-doe.key")]
    key: PathBuf,
    #[arg(long, value_enum, default_value = "unified")]
    via: Via,
    /// Log in as Officer rather than Self.
    #[arg(long)]
    officer: bool,
    /// Trust this CA (PEM) for an https:// URL, besides the system's roots.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Print step 2's whole answer, not just the token or SessionId.
    #[arg(long)]
    verbose: bool,
}

/// Where the Net iD faces and idbridge's SOAP face listen (the defaults).
const NETID_SOAP_PATH: &str = "/portal/service.svc";
const UNIFIED_SOAP_PATH: &str = "/idbridge/soap";
const SOAP_ACTION_PREFIX: &str = "http://www.pointsharp.com/netid/server/portal/IServiceSoap/";

impl NetidLogin {
    pub async fn run(self) -> anyhow::Result<()> {
        let certificate = std::fs::read_to_string(&self.certificate)
            .with_context(|| format!("reading {}", self.certificate.display()))?;
        let key = std::fs::read_to_string(&self.key)
            .with_context(|| format!("reading {}", self.key.display()))?;
        let key = ClientKey::from_pem(&key).context(self.key.display().to_string())?;
        let client = self.client()?;
        let base = self.url.trim_end_matches('/');
        let role = if self.officer {
            Role::Officer
        } else {
            Role::SelfService
        };
        let (printed, whole) = match self.via {
            Via::Unified => unified(&client, base, certificate.trim(), role, &key).await?,
            Via::UnifiedSoap => unified_soap(&client, base, certificate.trim(), role, &key).await?,
            Via::Rest | Via::Soap => {
                native(&client, base, self.via, certificate.trim(), role, &key).await?
            }
        };
        println!("{}", if self.verbose { whole } else { printed });
        Ok(())
    }

    fn client(&self) -> anyhow::Result<reqwest::Client> {
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(30));
        if let Some(ca) = &self.ca {
            let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
            builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&pem)?);
        }
        Ok(builder.build()?)
    }
}

/// Through idbridge's REST face: (token, step 2's body).
async fn unified(
    client: &reqwest::Client,
    base: &str,
    certificate: &str,
    role: Role,
    key: &ClientKey,
) -> anyhow::Result<(String, String)> {
    let url = format!("{base}/idbridge/v1/login");
    let step1 = json!({"backend": "netid", "certificate": certificate, "role": role.as_str()});
    let v = post_json(client, &url, &step1).await?;
    let challenge = &v["challenge"];
    let (Some(id), Some(value)) = (
        challenge["session_id"].as_str(),
        challenge["value"].as_str(),
    ) else {
        bail!("step 1 answered no challenge: {v}");
    };
    let answer = key.answer(id, value)?;
    let v = post_json(
        client,
        &url,
        &json!({"backend": "netid", "session_id": id, "answer": answer}),
    )
    .await?;
    let token = v["token"]
        .as_str()
        .with_context(|| format!("step 2 answered no token: {v}"))?;
    Ok((token.to_owned(), v.to_string()))
}

/// Through idbridge's SOAP face: (token, step 2's body).
async fn unified_soap(
    client: &reqwest::Client,
    base: &str,
    certificate: &str,
    role: Role,
    key: &ClientKey,
) -> anyhow::Result<(String, String)> {
    let url = format!("{base}{UNIFIED_SOAP_PATH}");
    let login = |children: String| {
        format!(
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>\
             <Login xmlns=\"urn:idbridge:v1\"><Backend>netid</Backend>{children}</Login>\
             </s:Body></s:Envelope>"
        )
    };
    let action = "\"urn:idbridge:v1/Login\"";
    let step1 = format!(
        "<Certificate>{certificate}</Certificate><Role>{}</Role>",
        role.as_str()
    );
    let xml = post_soap(client, &url, action, login(step1)).await?;
    let (Some(id), Some(value)) = (element(&xml, "SessionId"), element(&xml, "Value")) else {
        bail!("step 1 answered no challenge: {xml}");
    };
    let answer = key.answer(id, value)?;
    let step2 = format!("<SessionId>{id}</SessionId><Answer>{answer}</Answer>");
    let xml = post_soap(client, &url, action, login(step2)).await?;
    let token = element(&xml, "Token").with_context(|| format!("step 2: {xml}"))?;
    Ok((token.to_owned(), xml))
}

/// Through Net iD's own login, REST or SOAP: (SessionId, step 2's body).
async fn native(
    client: &reqwest::Client,
    base: &str,
    via: Via,
    certificate: &str,
    role: Role,
    key: &ClientKey,
) -> anyhow::Result<(String, String)> {
    let now =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?;
    let step1 = LoginRequest {
        certificate: certificate.to_owned(),
        date_time: now,
        role,
        client: None,
    };
    let limits = Limits::default();
    let (body, answer) = native_call(client, base, via, &limits, Step::Begin(&step1)).await?;
    let (Some(id), Some(value)) = (answer.session_id.as_ref(), answer.value.as_deref()) else {
        bail!("step 1 answered {}: {body}", answer.status.code.as_str());
    };
    let step2 = LoginAnswer {
        session_id: id.clone(),
        value: key.answer(id.expose(), value)?,
    };
    let (body, answer) = native_call(client, base, via, &limits, Step::Answer(&step2)).await?;
    if !answer.status.is_success() {
        bail!("step 2 answered {}: {body}", answer.status.code.as_str());
    }
    Ok((id.expose().to_owned(), body))
}

enum Step<'a> {
    Begin(&'a LoginRequest),
    Answer(&'a LoginAnswer),
}

async fn native_call(
    client: &reqwest::Client,
    base: &str,
    via: Via,
    limits: &Limits,
    step: Step<'_>,
) -> anyhow::Result<(String, LoginResponse)> {
    if via == Via::Soap {
        let body = match step {
            Step::Begin(r) => soap::encode_login_request(r),
            Step::Answer(a) => soap::encode_login_answer(a),
        };
        let action = format!("\"{SOAP_ACTION_PREFIX}Login\"");
        let xml = post_soap(client, &format!("{base}{NETID_SOAP_PATH}"), &action, body).await?;
        let answer = soap::decode_login_response(xml.as_bytes(), limits)
            .with_context(|| format!("not a Login answer: {xml}"))?;
        return Ok((xml, answer));
    }
    let body = match step {
        Step::Begin(r) => rest::encode_login_request(r),
        Step::Answer(a) => rest::encode_login_answer(a),
    };
    let resp = client
        .post(format!("{base}{}", rest::LOGIN_PATH))
        .header("content-type", rest::CONTENT_TYPE)
        .body(body)
        .send()
        .await?;
    let text = resp.text().await?;
    let answer = rest::decode_login_response(text.as_bytes(), limits)
        .with_context(|| format!("not a Login answer: {text}"))?;
    Ok((text, answer))
}

async fn post_json(client: &reqwest::Client, url: &str, body: &Value) -> anyhow::Result<Value> {
    let resp = client.post(url).json(body).send().await?;
    let status = resp.status();
    let v: Value = resp
        .json()
        .await
        .with_context(|| format!("{url} answered {status} without JSON"))?;
    if !status.is_success() {
        bail!("{url} answered {status}: {v}");
    }
    Ok(v)
}

async fn post_soap(
    client: &reqwest::Client,
    url: &str,
    action: &str,
    body: String,
) -> anyhow::Result<String> {
    let resp = client
        .post(url)
        .header("content-type", "text/xml; charset=\"utf-8\"")
        .header("soapaction", action)
        .body(body)
        .send()
        .await?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        bail!("{url} answered {status}: {text}");
    }
    Ok(text)
}

/// The text of the first `<name>` element, prefixes aside (enough for the answers above, whose
/// values are base64 and tokens).
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}
