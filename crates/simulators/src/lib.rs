//! idbridge-sim: backend simulators (in progress).
