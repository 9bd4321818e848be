//! The load tests' own tests: one binary (fewer binaries link faster).

mod smoke;
