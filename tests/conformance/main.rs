//! The libraries' own test suites, ported: each test names the upstream test it mirrors
//! (file and method) and uses its inputs and expected outputs against resim's state
//! machines. Where resim deliberately differs, the test says so.

mod aws;
mod finagle;
mod grpc;
mod netflix;
