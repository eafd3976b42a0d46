//! What `idbridge demo` prints: where everything listens and curl lines that work as pasted.

/// `curl` is the command every line starts with (`curl --cacert ca.pem` over TLS); `login` is
/// `idbridge netid-login` pointed at the gateway.
pub fn demo_banner(
    curl: &str,
    login: &str,
    gw: &str,
    admin: &str,
    enos: &str,
    netid: &str,
) -> String {
    let soap = |method: &str, info: &str| {
        format!(
            "{curl} -s -w \"\\n\" {gw}/portal/service.svc -H 'Content-Type: text/xml; charset=\"utf-8\"' \\\n  \
             -H 'SOAPAction: \"http://www.pointsharp.com/netid/server/portal/IServiceSoap/{method}\"' \\\n  \
             -d \"<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body><{method} \
             xmlns='http://www.pointsharp.com/netid/server/portal'><Info>{info}</Info></{method}></s:Body></s:Envelope>\""
        )
    };
    format!(
        r#"idbridge demo
  gateway                  {gw}
  admin (metrics, health)  {admin}   ({admin}/metrics, {admin}/readyz)
  EnOS IAM simulator       {enos}   (stats: {enos}/__sim/stats)
  Net iD Portal simulator  {netid}   (stats: {netid}/__sim/stats)

# EnOS login through the gateway (demo account portal_test01 / Demo-Passw0rd)
ID=$({curl} -s {gw}/enos-iam-service/v2.0/login -H 'Content-Type: application/json' \
  -d '{{"authType":0,"principal":"portal_test01","credentials":"Demo-Passw0rd"}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"]["id"])')

# session/info, answered from the cache: repeat it, and enos.session_info in the stats stays at 1
# (the gateway's own call right after login)
{curl} -s -w "\n" -X POST {gw}/enos-iam-service/v2.0/session/info -H "Authorization: Bearer $ID"
{curl} -s -w "\n" {enos}/__sim/stats

# Net iD login takes two steps: the certificate alone gets only a challenge (a nonce sealed to it)
{curl} -s -w "\n" {gw}/api/login -H 'Content-Type: application/json' \
  -d "{{\"Certificate\":\"$(cat config/demo/john-doe.cer)\",\"DateTime\":\"2026-11-23T10:00:00Z\",\"Role\":\"Self\"}}"
# ...which only John Doe's private key (config/demo/john-doe.key) answers; netid-login makes both
# steps over Net iD REST and prints the SessionId (--via soap|unified|unified-soap for the others)
SID=$({login} --via rest)
{curl} -s -w "\n" {gw}/api/login/status/get -H 'Content-Type: application/json' -d "{{\"SessionId\":\"$SID\",\"Count\":\"1\"}}"
{soap_status}

# The bridge: Net iD asks about the EnOS session; EnOS asks about the Net iD session
{curl} -s -w "\n" {gw}/api/login/status/get -H 'Content-Type: application/json' -d "{{\"SessionId\":\"$ID\",\"Count\":\"1\"}}"
{curl} -s -w "\n" -X POST {gw}/enos-iam-service/v2.0/session/info -H "Authorization: Bearer $SID"

# Pass-through, untouched
{curl} -s -w "\n" {gw}/enos-iam-service/v2.0/organization/info -H "Authorization: $ID" -d '{{"id":"o15578227985571"}}'

# Logout on both backends, then status answers as the backends would
{curl} -s -w "\n" -X POST {gw}/enos-iam-service/v2.0/logout -H "Authorization: Bearer $ID"
{curl} -s -w "\n" -X POST {gw}/enos-iam-service/v2.0/session/info -H "Authorization: Bearer $ID"
{curl} -s -w "\n" {gw}/api/logout -H 'Content-Type: application/json' -d "{{\"SessionId\":\"$SID\",\"Count\":\"3\"}}"
{curl} -s -w "\n" {gw}/api/login/status/get -H 'Content-Type: application/json' -d "{{\"SessionId\":\"$SID\",\"Count\":\"4\"}}"

# One login for every app: a gateway token from a Net iD login, answered on idbridge's own face
TOKEN=$({login})
{curl} -s -w "\n" {gw}/idbridge/v1/session -H "Authorization: Bearer $TOKEN"

Ctrl-C stops everything.
"#,
        soap_status = soap(
            "GetLoginStatus",
            "<SessionId>$SID</SessionId><Count>2</Count>"
        ),
    )
}
