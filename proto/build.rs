//! Compiles the .proto files with protox (pure Rust: no system protoc) and
//! generates prost messages plus tonic clients and servers.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/cohort/v1/peer.proto", "proto/cohort/v1/admin.proto"];
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        .bytes(".cohort.v1.RaftMessage.payload")
        // Blob data as `bytes::Bytes`: decoding slices the received buffer
        // instead of copying every chunk of a tree sync once more.
        .bytes(".cohort.v1.BlobChunk.data")
        .bytes(".cohort.v1.SmallBlob.data")
        .compile_fds(fds)?;
    Ok(())
}
