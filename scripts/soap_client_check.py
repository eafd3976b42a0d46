#!/usr/bin/env python3
"""Check idbridge's unified SOAP face with zeep, a client generated from the WSDL at run time.

Live, against a running gateway (e.g. `idbridge demo`):

    scripts/soap_client_check.py http://127.0.0.1:8080/idbridge/soap

loads URL?wsdl, then calls Login (EnOS demo account portal_test01 / Demo-Passw0rd),
GetSession with the returned token, Logout, and GetSession again, which must fail with a SOAP
Fault. One line per step; the exit status is non-zero on any mismatch.

Offline, without a gateway:

    scripts/soap_client_check.py --offline crates/protocol/tests/data/unified [--write-requests]

loads the golden WSDL from that directory and runs the same steps through zeep's real call path,
with a transport that records each request and answers with the golden responses the Rust
encoders produce (the `unified_soap_golden` test keeps those files equal to the encoders' output). It
also checks that the SOAPAction headers are the WSDL's, that the requests zeep builds are the
captured `zeep-*.xml` files the Rust tests parse (`--write-requests` rewrites them), that the
Net iD response and the Server fault parse, and it validates every request and response against
the WSDL's inline XML Schema with lxml.
"""

import argparse
import sys
from pathlib import Path

try:
    import requests
    import zeep
    from lxml import etree
    from zeep.exceptions import Fault
    from zeep.transports import Transport
    from zeep.wsdl.utils import etree_to_string
except ImportError as exc:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        f"error: this check needs zeep ({exc}); install it with: python3 -m pip install zeep\n"
    )
    sys.exit(2)

NS = "urn:idbridge:v1"
BINDING = "{urn:idbridge:v1}IdBridgeSoapBinding"
PRINCIPAL = "portal_test01"
PASSWORD = "Demo-Passw0rd"
SUBJECT_ID = "u15578227990211"
ORG_ID = "o15578227985571"


class Mismatch(Exception):
    """A step got something other than what the face promises."""


def expect(condition, what):
    if not condition:
        raise Mismatch(what)


class Steps:
    """Runs named steps, printing one line each; remembers whether any failed."""

    def __init__(self):
        self.failed = False

    def run(self, name, fn, *args):
        try:
            detail = fn(*args)
        except Mismatch as exc:
            print(f"FAIL {name}: {exc}")
            self.failed = True
            return None
        except Fault as exc:
            print(f"FAIL {name}: unexpected SOAP Fault {exc.code}: {exc.message}")
            self.failed = True
            return None
        except Exception as exc:  # noqa: BLE001 - any other failure is a failed step
            print(f"FAIL {name}: {type(exc).__name__}: {exc}")
            self.failed = True
            return None
        text, value = detail if isinstance(detail, tuple) else (detail, None)
        print(f"ok   {name}: {text}")
        return value


# === the session steps (shared by both modes) ===


def check_session(session, label):
    expect(session is not None, f"{label}: no Session")
    expect(session.Backend == "enos", f"{label}: Backend is {session.Backend!r}, not 'enos'")
    expect(session.Subject.Id == SUBJECT_ID, f"{label}: Subject.Id is {session.Subject.Id!r}")
    expect(session.Subject.Name == PRINCIPAL, f"{label}: Subject.Name is {session.Subject.Name!r}")
    expect(session.Subject.Kind in ("user", "org_owner", "org_admin"), f"{label}: Subject.Kind")
    expect(session.AuthMethod == "password", f"{label}: AuthMethod is {session.AuthMethod!r}")
    expect(
        session.Organization is not None and session.Organization.Id == ORG_ID,
        f"{label}: working Organization is not {ORG_ID}",
    )
    expect(session.ExpiresAt > session.CreatedAt, f"{label}: ExpiresAt is not after CreatedAt")
    expect(isinstance(session.ExpiresIn, int) and session.ExpiresIn >= 0, f"{label}: ExpiresIn")


def login(service):
    r = service.Login(Backend="enos", Principal=PRINCIPAL, Credentials=PASSWORD)
    expect(r.TokenType == "Bearer", f"TokenType is {r.TokenType!r}, not 'Bearer'")
    expect(isinstance(r.Token, str) and r.Token, "no Token")
    expect(isinstance(r.ExpiresIn, int) and r.ExpiresIn > 0, f"ExpiresIn is {r.ExpiresIn!r}")
    check_session(r.Session, "Login")
    return f"token issued, expires in {r.ExpiresIn} s, subject {r.Session.Subject.Name}", r.Token


def get_session(service, token):
    # A response element with a single child comes back unwrapped: this is the Session.
    session = service.GetSession(Token=token)
    check_session(session, "GetSession")
    return f"session of {session.Subject.Id}, expires in {session.ExpiresIn} s"


def logout(service, token):
    logged_out = service.Logout(Token=token)
    expect(logged_out is True, f"LoggedOut is {logged_out!r}, not true")
    return "logged out"


def get_session_after_logout(service, token):
    try:
        service.GetSession(Token=token)
    except Fault as fault:
        expect(fault.code and fault.code.endswith("Client"), f"faultcode is {fault.code!r}")
        code = fault_detail_code(fault)
        expect(code, "the Fault has no <detail><ib:Error><ib:Code>")
        return f"Fault {fault.code} ({code}): {fault.message}"
    raise Mismatch("GetSession after Logout did not fail")


def fault_detail_code(fault):
    if fault.detail is None:
        return None
    return fault.detail.findtext(f"{{{NS}}}Error/{{{NS}}}Code")


def run_session_steps(steps, service):
    token = steps.run("login", login, service)
    if token is None:
        return
    steps.run("get_session", get_session, service, token)
    steps.run("logout", logout, service, token)
    steps.run("get_session_after_logout", get_session_after_logout, service, token)


# === live mode ===


def live(url):
    steps = Steps()
    client = steps.run("load_wsdl", lambda: (f"{url}?wsdl", zeep.Client(f"{url}?wsdl")))
    if client is None:
        return 1
    # Call the URL we were given even if the gateway advertises another address (a proxy).
    service = client.create_service(BINDING, url)
    run_session_steps(steps, service)
    return 1 if steps.failed else 0


# === offline mode ===


class CannedTransport(Transport):
    """Records what zeep posts and answers with the next canned (file, HTTP status)."""

    def __init__(self, directory, replies):
        super().__init__()
        self.directory = directory
        self.replies = list(replies)
        self.sent = []  # (SOAPAction header, request bytes)

    def post_xml(self, address, envelope, headers):
        body = etree_to_string(envelope)
        self.sent.append((headers.get("SOAPAction"), body))
        name, status = self.replies.pop(0)
        response = requests.Response()
        response.status_code = status
        response._content = (self.directory / name).read_bytes()
        response.headers["Content-Type"] = "text/xml; charset=utf-8"
        response.encoding = "utf-8"
        return response


def schema_of(wsdl_path):
    """The WSDL's inline xsd:schema as an lxml validator (prefixes in scope are kept)."""
    doc = etree.parse(str(wsdl_path))
    node = doc.find(".//{http://www.w3.org/2001/XMLSchema}schema")
    return etree.XMLSchema(etree.fromstring(etree.tostring(node)))


def body_element(xml_bytes):
    envelope = etree.fromstring(xml_bytes)
    body = envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    return body[0]


def validate(schema, xml_bytes, label):
    element = body_element(xml_bytes)
    if element.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Fault":
        detail = element.find("detail")
        expect(detail is not None and len(detail) == 1, f"{label}: Fault without one detail entry")
        element = detail[0]
    ok = schema.validate(etree.ElementTree(element))
    expect(ok, f"{label}: not valid against the WSDL schema: {schema.error_log.last_error}")


def offline(directory, write_requests):
    steps = Steps()
    wsdl_path = directory / "idbridge.wsdl"
    transport = CannedTransport(
        directory,
        [
            ("login-response-enos.xml", 200),
            ("session-response-enos.xml", 200),
            ("logout-response.xml", 200),
            ("fault-client.xml", 500),
        ],
    )
    client = steps.run(
        "load_wsdl", lambda: (str(wsdl_path), zeep.Client(str(wsdl_path), transport=transport))
    )
    if client is None:
        return 1
    schema = steps.run("load_schema", lambda: ("inline XSD compiles", schema_of(wsdl_path)))
    service = client.bind("IdBridgeService", "IdBridgeSoapPort")
    run_session_steps(steps, service)

    def actions():
        sent = [action for action, _ in transport.sent]
        want = [f'"urn:idbridge:v1/{op}"' for op in ("Login", "GetSession", "Logout", "GetSession")]
        expect(sent == want, f"SOAPActions sent {sent}, expected {want}")
        return ", ".join(sent)

    steps.run("soap_actions", actions)

    # Requests zeep builds: the session flow's, plus the other login shapes.
    requests_built = {
        "zeep-login-enos.xml": transport.sent[0][1] if transport.sent else None,
        "zeep-getsession.xml": transport.sent[1][1] if len(transport.sent) > 1 else None,
        "zeep-logout.xml": transport.sent[2][1] if len(transport.sent) > 2 else None,
        "zeep-login-ldap.xml": etree_to_string(
            client.create_message(
                service,
                "Login",
                Backend="enos",
                Principal="ldap_user01",
                Credentials=PASSWORD,
                AuthType=1,
                LinkName="corp-ldap",
                ExpireInterval=3600,
            )
        ),
        "zeep-login-netid.xml": etree_to_string(
            client.create_message(
                service,
                "Login",
                Backend="netid",
                Certificate="MIIBzDCCAXagAwIBAgIUQ2VydA==",
                Role="Officer",
            )
        ),
        "zeep-login-netid-answer.xml": etree_to_string(
            client.create_message(
                service,
                "Login",
                Backend="netid",
                SessionId="c2Vzc2lvbi1zZWNyZXQ=",
                Answer="YW5zd2VyLW9mLXRoZS1jaGFsbGVuZ2U=",
            )
        ),
    }

    def captured():
        for name, body in requests_built.items():
            expect(body is not None, f"{name}: zeep sent no such request")
            path = directory / name
            if write_requests:
                path.write_bytes(body)
            else:
                expect(path.exists(), f"{name} is missing (run with --write-requests)")
                expect(path.read_bytes() == body, f"{name} differs from what zeep builds now")
            if schema is not None:
                validate(schema, body, name)
        verb = "written" if write_requests else "equal to the captured files"
        return f"{len(requests_built)} requests {verb}, all schema-valid"

    steps.run("requests", captured)

    def responses():
        names = [
            "login-response-enos.xml",
            "session-response-enos.xml",
            "session-response-netid.xml",
            "login-challenge-netid.xml",
            "logout-response.xml",
            "fault-client.xml",
            "fault-server.xml",
        ]
        for name in names:
            validate(schema, (directory / name).read_bytes(), name)
        return f"{len(names)} golden responses valid against the WSDL schema"

    if schema is not None:
        steps.run("responses_schema_valid", responses)

    binding = service._binding

    def netid_session():
        reply = requests.Response()
        reply.status_code = 200
        reply._content = (directory / "session-response-netid.xml").read_bytes()
        reply.headers["Content-Type"] = "text/xml; charset=utf-8"
        s = binding.process_reply(client, binding.get("GetSession"), reply)
        expect(s.Backend == "netid", "Backend")
        expect(s.AuthMethod == "certificate", "AuthMethod")
        expect(s.HomeOrganization is None, "HomeOrganization should be absent")
        expect(s.Usages.Usage == ["User", "Token", "Self", "AuditLog"], f"Usages {s.Usages}")
        orgs = s.Organizations.Organization
        expect([(o.Id, o.Name) for o in orgs] == [("9", "Pointsharp AB")], f"Organizations {orgs}")
        expect(s.IdleTimeout == 1200, f"IdleTimeout {s.IdleTimeout}")
        expect(s.Subject.Email is None, "Email should be absent")
        return "Net iD session parsed: usages, organisation list, absent optionals"

    steps.run("netid_session_response", netid_session)

    def netid_challenge():
        reply = requests.Response()
        reply.status_code = 200
        reply._content = (directory / "login-challenge-netid.xml").read_bytes()
        reply.headers["Content-Type"] = "text/xml; charset=utf-8"
        r = binding.process_reply(client, binding.get("Login"), reply)
        expect(r.Token is None, "a challenge carries no token")
        expect(r.Challenge.SessionId == "c2Vzc2lvbi1zZWNyZXQ=", f"SessionId {r.Challenge}")
        expect(bool(r.Challenge.Value), "Value")
        return "Net iD step 1 parsed: a Challenge, no Token"

    steps.run("netid_challenge_response", netid_challenge)

    def server_fault():
        reply = requests.Response()
        reply.status_code = 500
        reply._content = (directory / "fault-server.xml").read_bytes()
        reply.headers["Content-Type"] = "text/xml; charset=utf-8"
        try:
            binding.process_reply(client, binding.get("GetSession"), reply)
        except Fault as fault:
            expect(fault.code == "s:Server", f"faultcode {fault.code!r}")
            code = fault_detail_code(fault)
            expect(code == "backend_unavailable", f"detail code {code!r}")
            return f"Fault {fault.code} ({code})"
        raise Mismatch("the Server fault did not raise")

    steps.run("server_fault", server_fault)
    return 1 if steps.failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="the SOAP endpoint, e.g. http://127.0.0.1:8080/idbridge/soap")
    parser.add_argument("--offline", metavar="DIR", type=Path, help="check the golden files in DIR instead")
    parser.add_argument("--write-requests", action="store_true", help="offline: rewrite DIR/zeep-*.xml")
    args = parser.parse_args()
    if args.offline:
        return offline(args.offline, args.write_requests)
    if not args.url:
        parser.error("give the endpoint URL, or --offline DIR")
    url = args.url[: -len("?wsdl")] if args.url.endswith("?wsdl") else args.url
    return live(url)


if __name__ == "__main__":
    sys.exit(main())
