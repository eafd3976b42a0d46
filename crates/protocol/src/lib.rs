//! idbridge-protocol: wire codecs (in progress).
