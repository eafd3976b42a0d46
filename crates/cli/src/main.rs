//! The idbridge binary.

fn main() {}
