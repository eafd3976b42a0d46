//! The WSDL 1.1 description of the unified SOAP face.
//!
//! Document/literal "wrapped" (one element per message, named after the operation), a single
//! inline schema and no imports, so that it loads unchanged in generated clients (zeep, .NET
//! `svcutil`/`dotnet-svcutil`, JAX-WS `wsimport`). The schema describes exactly what
//! `parse_request` accepts and the encoders write: the same names, order, optionality and types.

use super::Operation;
use crate::netid::soap::writer::escape;

/// The document with `@ENDPOINT@` in `soap:address`; see [`wsdl`].
const TEMPLATE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="IdBridge" targetNamespace="urn:idbridge:v1"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:ib="urn:idbridge:v1">
  <wsdl:documentation>idbridge unified SOAP 1.1 face: one session API in front of EnOS IAM and Net iD Portal. The same operations are offered as REST/JSON under /idbridge/v1.</wsdl:documentation>
  <wsdl:types>
    <xsd:schema targetNamespace="urn:idbridge:v1" elementFormDefault="qualified">
      <xsd:simpleType name="Backend">
        <xsd:restriction base="xsd:string">
          <xsd:enumeration value="enos"/>
          <xsd:enumeration value="netid"/>
        </xsd:restriction>
      </xsd:simpleType>
      <xsd:simpleType name="SubjectKind">
        <xsd:restriction base="xsd:string">
          <xsd:enumeration value="user"/>
          <xsd:enumeration value="org_owner"/>
          <xsd:enumeration value="org_admin"/>
        </xsd:restriction>
      </xsd:simpleType>
      <xsd:simpleType name="AuthMethod">
        <xsd:restriction base="xsd:string">
          <xsd:enumeration value="password"/>
          <xsd:enumeration value="ldap"/>
          <xsd:enumeration value="certificate"/>
        </xsd:restriction>
      </xsd:simpleType>
      <xsd:simpleType name="AuthType">
        <xsd:annotation><xsd:documentation>0: EnOS account; 1: LDAP (LinkName names the link).</xsd:documentation></xsd:annotation>
        <xsd:restriction base="xsd:int">
          <xsd:enumeration value="0"/>
          <xsd:enumeration value="1"/>
        </xsd:restriction>
      </xsd:simpleType>
      <xsd:simpleType name="Role">
        <xsd:restriction base="xsd:string">
          <xsd:enumeration value="Self"/>
          <xsd:enumeration value="Officer"/>
        </xsd:restriction>
      </xsd:simpleType>
      <xsd:complexType name="Subject">
        <xsd:sequence>
          <xsd:element name="Id" type="xsd:string"/>
          <xsd:element name="Name" type="xsd:string"/>
          <xsd:element name="Email" type="xsd:string" minOccurs="0"/>
          <xsd:element name="Phone" type="xsd:string" minOccurs="0"/>
          <xsd:element name="Kind" type="ib:SubjectKind"/>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:complexType name="Organization">
        <xsd:sequence>
          <xsd:element name="Id" type="xsd:string"/>
          <xsd:element name="Name" type="xsd:string"/>
          <xsd:element name="Domain" type="xsd:string" minOccurs="0"/>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:complexType name="OrganizationList">
        <xsd:sequence>
          <xsd:element name="Organization" type="ib:Organization" minOccurs="0" maxOccurs="unbounded"/>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:complexType name="UsageList">
        <xsd:sequence>
          <xsd:element name="Usage" type="xsd:string" minOccurs="0" maxOccurs="unbounded"/>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:complexType name="Challenge">
        <xsd:annotation><xsd:documentation>Step 1 of a Net iD login: the portal session waiting for step 2, the 32-byte nonce sealed with RSA-OAEP-SHA-256 to the certificate's key (base64), and the portal's certificate.</xsd:documentation></xsd:annotation>
        <xsd:sequence>
          <xsd:element name="SessionId" type="xsd:string"/>
          <xsd:element name="Value" type="xsd:string"/>
          <xsd:element name="ServerCertificate" type="xsd:string" minOccurs="0"/>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:complexType name="Session">
        <xsd:annotation><xsd:documentation>A normalised session. It never carries the backend session id.</xsd:documentation></xsd:annotation>
        <xsd:sequence>
          <xsd:element name="Backend" type="ib:Backend"/>
          <xsd:element name="Subject" type="ib:Subject"/>
          <xsd:element name="Organization" type="ib:Organization" minOccurs="0"/>
          <xsd:element name="HomeOrganization" type="ib:Organization" minOccurs="0"/>
          <xsd:element name="Organizations" type="ib:OrganizationList"/>
          <xsd:element name="Usages" type="ib:UsageList"/>
          <xsd:element name="AuthMethod" type="ib:AuthMethod"/>
          <xsd:element name="CreatedAt" type="xsd:dateTime"/>
          <xsd:element name="RefreshedAt" type="xsd:dateTime"/>
          <xsd:element name="ExpiresAt" type="xsd:dateTime"/>
          <xsd:element name="ExpiresIn" type="xsd:long"/>
          <xsd:element name="IdleTimeout" type="xsd:long" minOccurs="0"/>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:element name="Login">
        <xsd:annotation><xsd:documentation>Backend enos needs Principal and Credentials (AuthType, LinkName, ExpireInterval optional). Backend netid logs in in two steps: step 1 sends Certificate, base64 DER (Role optional) and is answered with a Challenge; step 2 sends that SessionId and Answer, base64(HMAC-SHA-256(key = the nonce the Challenge Value seals to the certificate, message = SessionId)), and is answered with a token. Fields of the other backend or step are refused.</xsd:documentation></xsd:annotation>
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="Backend" type="ib:Backend"/>
            <xsd:element name="Principal" type="xsd:string" minOccurs="0"/>
            <xsd:element name="Credentials" type="xsd:string" minOccurs="0"/>
            <xsd:element name="AuthType" type="ib:AuthType" minOccurs="0"/>
            <xsd:element name="LinkName" type="xsd:string" minOccurs="0"/>
            <xsd:element name="ExpireInterval" type="xsd:unsignedLong" minOccurs="0"/>
            <xsd:element name="Certificate" type="xsd:string" minOccurs="0"/>
            <xsd:element name="Role" type="ib:Role" minOccurs="0"/>
            <xsd:element name="SessionId" type="xsd:string" minOccurs="0"/>
            <xsd:element name="Answer" type="xsd:string" minOccurs="0"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="LoginResponse">
        <xsd:complexType>
          <xsd:choice>
            <xsd:sequence>
              <xsd:element name="Token" type="xsd:string"/>
              <xsd:element name="TokenType" type="xsd:string"/>
              <xsd:element name="ExpiresIn" type="xsd:long"/>
              <xsd:element name="Session" type="ib:Session"/>
            </xsd:sequence>
            <xsd:element name="Challenge" type="ib:Challenge"/>
          </xsd:choice>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="GetSession">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="Token" type="xsd:string"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="GetSessionResponse">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="Session" type="ib:Session"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="Logout">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="Token" type="xsd:string"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="LogoutResponse">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="LoggedOut" type="xsd:boolean"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:element name="Error">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="Code" type="xsd:string"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="LoginRequest"><wsdl:part name="parameters" element="ib:Login"/></wsdl:message>
  <wsdl:message name="LoginResponse"><wsdl:part name="parameters" element="ib:LoginResponse"/></wsdl:message>
  <wsdl:message name="GetSessionRequest"><wsdl:part name="parameters" element="ib:GetSession"/></wsdl:message>
  <wsdl:message name="GetSessionResponse"><wsdl:part name="parameters" element="ib:GetSessionResponse"/></wsdl:message>
  <wsdl:message name="LogoutRequest"><wsdl:part name="parameters" element="ib:Logout"/></wsdl:message>
  <wsdl:message name="LogoutResponse"><wsdl:part name="parameters" element="ib:LogoutResponse"/></wsdl:message>
  <wsdl:message name="ErrorFault"><wsdl:part name="detail" element="ib:Error"/></wsdl:message>
  <wsdl:portType name="IdBridgePortType">
@OPERATIONS@  </wsdl:portType>
  <wsdl:binding name="IdBridgeSoapBinding" type="ib:IdBridgePortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
@BINDINGS@  </wsdl:binding>
  <wsdl:service name="IdBridgeService">
    <wsdl:port name="IdBridgeSoapPort" binding="ib:IdBridgeSoapBinding">
      <soap:address location="@ENDPOINT@"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"#;

/// The WSDL, with `endpoint_url` (escaped) as the service's `soap:address`.
pub fn wsdl(endpoint_url: &str) -> String {
    let mut operations = String::new();
    let mut bindings = String::new();
    // The SOAPActions come from `Operation`, the one place `parse_request` checks them against.
    for op in Operation::ALL {
        let name = op.name();
        operations.push_str(&format!(
            concat!(
                "    <wsdl:operation name=\"{name}\">\n",
                "      <wsdl:input message=\"ib:{name}Request\"/>\n",
                "      <wsdl:output message=\"ib:{name}Response\"/>\n",
                "      <wsdl:fault name=\"Error\" message=\"ib:ErrorFault\"/>\n",
                "    </wsdl:operation>\n",
            ),
            name = name
        ));
        bindings.push_str(&format!(
            concat!(
                "    <wsdl:operation name=\"{name}\">\n",
                "      <soap:operation soapAction=\"{action}\" style=\"document\"/>\n",
                "      <wsdl:input><soap:body use=\"literal\"/></wsdl:input>\n",
                "      <wsdl:output><soap:body use=\"literal\"/></wsdl:output>\n",
                "      <wsdl:fault name=\"Error\"><soap:fault name=\"Error\" use=\"literal\"/></wsdl:fault>\n",
                "    </wsdl:operation>\n",
            ),
            name = name,
            action = op.soap_action()
        ));
    }
    TEMPLATE
        .replacen("@OPERATIONS@", &operations, 1)
        .replacen("@BINDINGS@", &bindings, 1)
        .replacen("@ENDPOINT@", &escape_attribute(endpoint_url), 1)
}

/// Text escaping plus the attribute's delimiter; whitespace characters other than a space would
/// be normalised away by the parser, so they are written as references.
fn escape_attribute(value: &str) -> String {
    escape(value)
        .replace('"', "&quot;")
        .replace('\n', "&#10;")
        .replace('\t', "&#9;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_is_escaped_into_the_address() {
        let w = wsdl("http://h/idbridge/soap?a=1&b=\"2\"");
        assert!(w.contains(r#"location="http://h/idbridge/soap?a=1&amp;b=&quot;2&quot;""#));
        assert!(!w.contains('@'));
    }

    #[test]
    fn every_operation_is_bound_with_its_action() {
        let w = wsdl("http://h/idbridge/soap");
        for op in Operation::ALL {
            assert!(w.contains(&format!(
                r#"<soap:operation soapAction="{}" style="document"/>"#,
                op.soap_action()
            )));
            assert!(w.contains(&format!(r#"<wsdl:operation name="{}">"#, op.name())));
        }
    }
}
