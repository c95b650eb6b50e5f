//! Compiles our Perfetto proto subset with prost-build, using protox (a pure-Rust
//! protobuf compiler) so that no system `protoc` is needed.

fn main() {
    let proto = "protos/perfetto_subset.proto";
    println!("cargo:rerun-if-changed={proto}");
    let fds =
        protox::compile([proto], ["protos"]).expect("protos/perfetto_subset.proto must compile");
    prost_build::Config::new()
        .compile_fds(fds)
        .expect("prost-build code generation");
}
