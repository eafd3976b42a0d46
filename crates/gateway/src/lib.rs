//! idbridge-gateway: the Pingora service (in progress).
