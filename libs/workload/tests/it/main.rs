//! The workload transport over real sockets: one binary, one module per concern.

mod connection_lifetime;
