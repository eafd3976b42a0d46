//! The WSDL 1.1 document served at `GET /portal/service.svc?wsdl`.
//!
//! Small on purpose: it names the four operations, their SOAP actions and the document/literal
//! binding, which is what tooling needs to generate a client; the `Info`/`Result` types are left
//! open (`xs:any`) because the simulator's field lists live in the operation docs, not in a schema.

use crate::netid::message::Op;
use crate::netid::{NS, SOAP_ACTION_PREFIX};

/// The WSDL, with the service address pointing at `base_url` (e.g. `http://127.0.0.1:18082`).
pub(crate) fn document(base_url: &str) -> String {
    let mut types = String::new();
    let mut messages = String::new();
    let mut port_ops = String::new();
    let mut binding_ops = String::new();
    for op in Op::ALL {
        let m = op.method();
        types.push_str(&format!(
            r#"
      <xs:element name="{m}"><xs:complexType><xs:sequence><xs:element name="Info" minOccurs="0" type="tns:AnyFields"/></xs:sequence></xs:complexType></xs:element>
      <xs:element name="{m}Response"><xs:complexType><xs:sequence><xs:element name="{m}Result" minOccurs="0" type="tns:AnyFields"/></xs:sequence></xs:complexType></xs:element>"#
        ));
        messages.push_str(&format!(
            r#"
  <wsdl:message name="IServiceSoap_{m}_InputMessage"><wsdl:part name="parameters" element="tns:{m}"/></wsdl:message>
  <wsdl:message name="IServiceSoap_{m}_OutputMessage"><wsdl:part name="parameters" element="tns:{m}Response"/></wsdl:message>"#
        ));
        port_ops.push_str(&format!(
            r#"
    <wsdl:operation name="{m}">
      <wsdl:input wsaw:Action="{SOAP_ACTION_PREFIX}{m}" message="tns:IServiceSoap_{m}_InputMessage"/>
      <wsdl:output wsaw:Action="{SOAP_ACTION_PREFIX}{m}Response" message="tns:IServiceSoap_{m}_OutputMessage"/>
    </wsdl:operation>"#
        ));
        binding_ops.push_str(&format!(
            r#"
    <wsdl:operation name="{m}">
      <soap:operation soapAction="{SOAP_ACTION_PREFIX}{m}" style="document"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>"#
        ));
    }
    format!(
        r###"<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="Service" targetNamespace="{NS}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:wsaw="http://www.w3.org/2006/05/addressing/wsdl"
    xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="{NS}">
  <wsdl:types>
    <xs:schema elementFormDefault="qualified" targetNamespace="{NS}">
      <xs:complexType name="AnyFields"><xs:sequence><xs:any minOccurs="0" maxOccurs="unbounded" processContents="lax" namespace="##any"/></xs:sequence></xs:complexType>{types}
    </xs:schema>
  </wsdl:types>{messages}
  <wsdl:portType name="IServiceSoap">{port_ops}
  </wsdl:portType>
  <wsdl:binding name="BasicHttpBinding_IServiceSoap" type="tns:IServiceSoap">
    <soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>{binding_ops}
  </wsdl:binding>
  <wsdl:service name="Service">
    <wsdl:port name="BasicHttpBinding_IServiceSoap" binding="tns:BasicHttpBinding_IServiceSoap">
      <soap:address location="{base_url}/portal/service.svc"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"###
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netid::xml;

    #[test]
    fn is_well_formed_and_names_every_operation() {
        let doc = document("http://127.0.0.1:1");
        let root = xml::parse(doc.as_bytes()).unwrap();
        assert_eq!(root.local, "definitions");
        for op in Op::ALL {
            let action = format!(r#"soapAction="{SOAP_ACTION_PREFIX}{}""#, op.method());
            assert!(doc.contains(&action), "{action}");
        }
        assert!(doc.contains(r#"location="http://127.0.0.1:1/portal/service.svc""#));
    }
}
